/// Identifies a shard group: the replica set that serves some routes.
///
/// A type of its own (not an alias of `UInt64`), so that a group id is never mixed up with a
/// route id, a count or a key length: `Route(id:start:end:group:)` takes one of each.
public struct ShardGroupID: NumericIdentifier {
    public var rawValue: UInt64

    @inlinable
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
}
