/// Identifies a route: one contiguous key range of the sharded store.
///
/// Route ids are small dense integers handed out by the route catalog; samplers index their
/// counters by id directly, so ids must stay below ``RouteID/limit``. A type of its own (not an
/// alias of `UInt64`), so that `.unrouted` and `.limit` belong to route ids only and an id is
/// never mixed up with a count or a group.
public struct RouteID: NumericIdentifier {
    public var rawValue: UInt64

    @inlinable
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// The id a host passes for a key that has no route. Samplers count it as "unrouted";
    /// no catalog may contain it. (The system KeyViz comes from fell back to route 0: we don't.)
    public static let unrouted = RouteID(UInt64.max)

    /// Exclusive upper bound for route ids in a catalog (the samplers' dense index covers 2^32 ids).
    public static let limit = RouteID(UInt64(1) << 32)
}
