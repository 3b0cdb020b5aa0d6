/// Identifies a route: one contiguous key range of the sharded store.
///
/// Route ids are small dense integers handed out by the route catalog; samplers index their
/// counters by id directly, so ids must stay below ``RouteID/limit``.
public typealias RouteID = UInt64

extension RouteID {
    /// The id a host passes for a key that has no route. Samplers count it as "unrouted";
    /// no catalog may contain it. (The system KeyViz comes from fell back to route 0: we don't.)
    public static let unrouted: RouteID = .max

    /// Exclusive upper bound for route ids in a catalog (the samplers' dense index covers 2^32 ids).
    public static let limit: RouteID = 1 << 32
}
