/// Identifies a shard group: the replica set that serves some routes.
///
/// A type of its own (not an alias of `UInt64`), so that a group id is never mixed up with a
/// route id, a count or a key length: `Route(id:start:end:group:)` takes one of each.
public struct ShardGroupID: Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The id as a number (what the matrix API, the state file and logs show).
    public var rawValue: UInt64

    @inlinable
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// From any integer; negative values trap (group ids are never negative).
    @inlinable
    public init<T: BinaryInteger>(_ value: T) { rawValue = UInt64(value) }

    @inlinable
    public init(integerLiteral value: UInt64) { rawValue = value }

    @inlinable
    public static func < (a: ShardGroupID, b: ShardGroupID) -> Bool { a.rawValue < b.rawValue }

    public var description: String { String(rawValue) }
}
