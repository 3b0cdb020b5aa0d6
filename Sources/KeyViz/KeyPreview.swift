/// Renders key bytes for people: printable ASCII as is, anything else as hex.
///
/// Used in error messages, the matrix API's previews, status lines and logs, with the same
/// vocabulary as the Prometheus labels: the start of the key space (the empty key) is
/// `(begin)` and the end of it (an empty end bound) is `(end)`. A key of printable ASCII that
/// neither starts with `(` nor with `0x` keeps its text; any other key is `0x` followed by
/// lowercase hex. So a spelling names one key: no key renders as `(begin)`, `(end)` or as
/// another key's hex.
public enum KeyPreview {
    /// The start of the key space: the empty key as a start bound.
    public static let keySpaceStart = "(begin)"
    /// The end of the key space: the empty key as an (exclusive) end bound, +infinity.
    public static let keySpaceEnd = "(end)"

    /// A key, or a range's start bound: the empty key is ``keySpaceStart``. At most `maxLength`
    /// characters (cut with `…`); reads no more of the key than it can show.
    public static func render(_ key: some Collection<UInt8>, maxLength: Int = 64) -> String {
        if key.isEmpty { return keySpaceStart }
        let shown = key.prefix(maxLength + 1)
        let printable = shown.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
            && shown.first != UInt8(ascii: "(")
            && !shown.starts(with: [UInt8(ascii: "0"), UInt8(ascii: "x")])
        var out = printable ? String(decoding: shown, as: UTF8.self) : "0x" + hex(shown.prefix(maxLength / 2 + 1))
        if out.count > maxLength || shown.count < key.count && !out.hasSuffix("…") {
            out = String(out.prefix(maxLength - 1)) + "…"
        }
        return out
    }

    /// A range's exclusive end bound: the empty key is ``keySpaceEnd`` (+infinity).
    public static func renderEnd(_ key: some Collection<UInt8>, maxLength: Int = 64) -> String {
        key.isEmpty ? keySpaceEnd : render(key, maxLength: maxLength)
    }

    /// `[start, end)` in the same vocabulary.
    public static func renderRange(start: some Collection<UInt8>, end: some Collection<UInt8>, maxLength: Int = 64) -> String {
        "[\(render(start, maxLength: maxLength)), \(renderEnd(end, maxLength: maxLength)))"
    }

    /// Lowercase hex of the bytes, two digits each.
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var chars: [UInt8] = []
        chars.reserveCapacity(bytes.count * 2)
        for b in bytes {
            chars.append(digits[Int(b >> 4)])
            chars.append(digits[Int(b & 0xf)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
