public import KeyViz

/// Where a key lives: the id of its route (what a `Sampler` is told) and the shard group
/// that serves it (where the data is).
public struct RoutePlacement: Sendable, Hashable {
    public var route: RouteID
    public var group: ShardGroupID

    public init(route: RouteID, group: ShardGroupID) {
        self.route = route
        self.group = group
    }
}
