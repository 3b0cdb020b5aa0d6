/// The kind of user-facing operation a ``Sampler`` observes.
///
/// The raw values index the counter arrays on the hot path (reads first, then writes),
/// so they must stay 0 and 1.
public enum Op: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case read = 0
    case write = 1

    /// The label value used in metrics and JSON (`read`, `write`).
    public var description: String { self == .read ? "read" : "write" }

    @inline(__always)
    var index: Int { Int(rawValue) }
}
