/// Renders key bytes for people: printable ASCII as is, anything else as hex.
///
/// Used in error messages, labels and logs. A key that is entirely printable ASCII (other than
/// `%`) keeps its text; any other key is shown as `0x` followed by lowercase hex, so two
/// different keys never render the same.
public enum KeyPreview {
    public static func render(_ key: some Collection<UInt8>, maxLength: Int = 64) -> String {
        if key.isEmpty { return "\"\"" }
        let printable = key.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
        var out: String
        if printable {
            out = String(decoding: key, as: UTF8.self)
        } else {
            out = "0x" + hex(key)
        }
        if out.count > maxLength { out = String(out.prefix(maxLength - 1)) + "…" }
        return out
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
