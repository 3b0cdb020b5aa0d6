import KeyViz

/// Errors a coordinator or shard group reports to its caller.
public enum ShardKVError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No route holds the key (it lies outside the catalog).
    case noRoute(key: [UInt8])
    /// The group that owns the key's route is not configured on this node.
    case unknownGroup(ShardGroupID)
    /// This node is not the leader of the group.
    case notLeader(ShardGroupID)
    /// This node leads the group but its lease has expired, so a lease read is unsafe.
    case leaseExpired(ShardGroupID)

    public var description: String {
        switch self {
        case .noRoute(let key): "no route for key \(KeyPreview.render(key))"
        case .unknownGroup(let g): "shard group \(g) is not configured on this node"
        case .notLeader(let g): "not the leader of shard group \(g)"
        case .leaseExpired(let g): "the lease on shard group \(g) has expired"
        }
    }
}
