/// Why bytes are not a matrix history (``MatrixHistoryCodec/decode(_:)``): each case says where.
public enum MatrixHistoryCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Shorter than the 24-byte header.
    case tooShort(Int)
    /// The first 8 bytes are not `KVZHIST1`.
    case badMagic
    /// A format version this build does not read.
    case unsupportedVersion(UInt32)
    /// The header's payload length and the bytes present disagree (a truncated or extended file).
    case lengthMismatch(header: UInt64, present: Int)
    /// The payload's CRC-32 is not the header's (bit rot, a torn write).
    case checksumMismatch(header: UInt32, computed: UInt32)
    /// The payload ends inside `what`.
    case truncated(what: String, offset: Int)
    /// A value out of its range.
    case invalid(what: String, offset: Int)

    public var description: String {
        switch self {
        case .tooShort(let n): "not a matrix history: \(n) bytes, shorter than the 24-byte header"
        case .badMagic: "not a matrix history: bad magic (want KVZHIST1)"
        case .unsupportedVersion(let v): "matrix history format version \(v) is not supported (this build reads 1 and 2)"
        case .lengthMismatch(let h, let p): "truncated or extended matrix history: the header says \(h) payload bytes, \(p) are present"
        case .checksumMismatch(let h, let c): "corrupt matrix history: payload CRC-32 is \(c), the header says \(h)"
        case .truncated(let what, let o): "corrupt matrix history: ends inside \(what) at payload byte \(o)"
        case .invalid(let what, let o): "corrupt matrix history: bad \(what) at payload byte \(o)"
        }
    }
}
