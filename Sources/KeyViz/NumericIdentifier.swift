/// An identifier that is a number with a type of its own (``RouteID``, ``ShardGroupID``): the
/// conversions, ordering and spelling they share, written once.
public protocol NumericIdentifier: Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible
where IntegerLiteralType == UInt64 {
    /// The id as a number (what the APIs, the state file and logs show).
    var rawValue: UInt64 { get }
    init(_ rawValue: UInt64)
}

extension NumericIdentifier {
    /// From any integer; negative values trap (ids are never negative).
    @inlinable
    public init<T: BinaryInteger>(_ value: T) { self.init(UInt64(value)) }

    @inlinable
    public init(integerLiteral value: UInt64) { self.init(value) }

    @inlinable
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var description: String { String(rawValue) }
}
