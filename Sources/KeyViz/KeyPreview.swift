/// The one spelling of keys for people and labels: the matrix API's previews, the hot-keys API,
/// the Prometheus `bucket` labels and info series, status lines, errors and logs. The
/// Prometheus view reads labels back with ``read(_:)``, so what the exporter writes and what the
/// view reads follow the same rule.
///
/// Rule, for at most `maxLength` characters:
/// - the empty key is `(begin)` as a start bound (``keySpaceStart``) and `(end)` as an end bound
///   (``keySpaceEnd``, +infinity);
/// - a key of printable ASCII without `~`, not starting with `(` or `0x`, that fits, is itself;
/// - any other key that fits as `0x` + lowercase hex is that;
/// - a longer key keeps a head (its text when its first bytes qualify as above, else `0x` + hex)
///   and ends with `~` and `hashDigits` hex digits of the key's hash.
///
/// So an untruncated spelling names exactly one key (no key spells as `(begin)`, `(end)`, or as
/// another key's hex), and a truncated one, which alone carries `~`, names the keys that start
/// with its head and, up to the hash digits, which of them.
package enum KeyPreview {
    /// The start of the key space: the empty key as a start bound.
    package static let keySpaceStart = "(begin)"
    /// The end of the key space: the empty key as an (exclusive) end bound, +infinity.
    package static let keySpaceEnd = "(end)"

    /// A key, or a range's start bound, in at most `maxLength` characters (at least 16). A
    /// truncated spelling reads at most `maxLength` bytes of the key plus the key once to hash it.
    package static func render(_ key: some Collection<UInt8>, maxLength: Int = 64) -> String {
        spell(Array(key.prefix(max(16, maxLength) + 1)), fullCount: key.count, maxLength: max(16, maxLength), hashDigits: 8) {
            hash(key)
        }
    }

    /// A range's exclusive end bound: the empty key is ``keySpaceEnd`` (+infinity).
    package static func renderEnd(_ key: some Collection<UInt8>, maxLength: Int = 64) -> String {
        key.isEmpty ? keySpaceEnd : render(key, maxLength: maxLength)
    }

    /// `[start, end)` in the same vocabulary.
    package static func renderRange(start: some Collection<UInt8>, end: some Collection<UInt8>, maxLength: Int = 64) -> String {
        "[\(render(start, maxLength: maxLength)), \(renderEnd(end, maxLength: maxLength)))"
    }

    /// The spelling with a caller's hash (a layout's keyed hash, say) and number of its hex
    /// digits; `key` holds at least the first `maxLength + 1` bytes of a key of `fullCount`
    /// bytes, and `hash` is called only when the spelling is truncated.
    package static func spell(_ key: [UInt8], fullCount: Int, maxLength: Int, hashDigits: Int, hash: () -> UInt64) -> String {
        if fullCount == 0 { return keySpaceStart }
        if fullCount <= maxLength, startsPlain(key), key.allSatisfy(textByte) { return String(decoding: key, as: UTF8.self) }
        if fullCount * 2 + 2 <= maxLength { return "0x" + hex(key) }
        let keep = maxLength - 1 - hashDigits
        let head: String
        if key.count >= keep, startsPlain(key), key[..<keep].allSatisfy(textByte) {
            head = String(decoding: key[..<keep], as: UTF8.self)
        } else {
            head = String(("0x" + hex(key.prefix(keep / 2))).prefix(keep))
        }
        return head + "~" + String(hex64(hash()).prefix(hashDigits))
    }

    /// Whether `key`'s spelling in `maxLength` characters is truncated (and so carries a hash).
    package static func isTruncated(_ key: [UInt8], maxLength: Int) -> Bool {
        !key.isEmpty && !(key.count <= maxLength && startsPlain(key) && key.allSatisfy(textByte)) && key.count * 2 + 2 > maxLength
    }

    /// What a spelling says about its key: the exact bytes, or (truncated) the bytes every key
    /// so spelled starts with. `(begin)` and `(end)` read as the empty key. Any text reads as
    /// something: a text that no key spells as (`0x` with bad hex, say) reads as its own bytes.
    package static func read(_ spelling: String) -> (bytes: [UInt8], exact: Bool) {
        if spelling == keySpaceStart || spelling == keySpaceEnd { return ([], true) }
        let utf8 = Array(spelling.utf8)
        let tilde = utf8.lastIndex(of: UInt8(ascii: "~"))
        let body = tilde.map { Array(utf8[..<$0]) } ?? utf8
        if body.starts(with: [UInt8(ascii: "0"), UInt8(ascii: "x")]) {
            var digits = body.dropFirst(2)
            if tilde != nil, digits.count % 2 == 1 { digits = digits.dropLast() }   // a head cut mid-byte
            if digits.count % 2 == 0, let bytes = unhex(digits) { return (bytes, tilde == nil) }
        }
        return (body, tilde == nil)
    }

    /// The unkeyed 64-bit hash a truncated spelling carries: FNV-1a, then the SplitMix64
    /// finaliser. Deterministic across processes, so every node spells a key alike.
    package static func hash(_ key: some Collection<UInt8>) -> UInt64 {
        if let contiguous = key.withContiguousStorageIfAvailable({ hash($0) }) { return contiguous }
        return hash(Array(key))
    }

    /// The same over contiguous bytes (the layout hashes every route bound with it).
    package static func hash(_ key: [UInt8]) -> UInt64 {
        key.withUnsafeBufferPointer { hash($0) }
    }

    private static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return SplitMix64.mix(h)
    }

    /// Lowercase hex of the bytes, two digits each.
    package static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var chars: [UInt8] = []
        chars.reserveCapacity(bytes.count * 2)
        for b in bytes {
            chars.append(digits[Int(b >> 4)])
            chars.append(digits[Int(b & 0xf)])
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// 16 lowercase hex digits.
    package static func hex64(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    @inline(__always)
    private static func textByte(_ b: UInt8) -> Bool { b >= 0x20 && b < 0x7f && b != UInt8(ascii: "~") }

    private static func startsPlain(_ key: [UInt8]) -> Bool {
        key.first != UInt8(ascii: "(") && !(key.count >= 2 && key[0] == UInt8(ascii: "0") && key[1] == UInt8(ascii: "x"))
    }

    private static func unhex(_ digits: some Collection<UInt8>) -> [UInt8]? {
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var it = digits.makeIterator()
        while let hi = it.next() {
            guard let lo = it.next(), let h = value(hi), let l = value(lo) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }
}
