public import KeyViz

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
    /// The two routes are served by different groups: their data would have to move first.
    case mergeAcrossGroups(left: RouteID, leftGroup: ShardGroupID, right: RouteID, rightGroup: ShardGroupID)
    /// The catalog refused the change (the catalog's own error says why).
    case routeChange(RouteCatalogError)

    public var description: String {
        switch self {
        case .noRoute(let key): "no route for key \(KeyPreview.render(key))"
        case .unknownGroup(let g): "shard group \(g) is not configured on this node"
        case .notLeader(let g): "not the leader of shard group \(g)"
        case .leaseExpired(let g): "the lease on shard group \(g) has expired"
        case .mergeAcrossGroups(let l, let lg, let r, let rg):
            "cannot merge route \(l) (group \(lg)) with route \(r) (group \(rg)): only routes of one group merge"
        case .routeChange(let e): "route change refused: \(e)"
        }
    }
}
