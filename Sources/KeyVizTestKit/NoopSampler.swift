public import KeyViz

/// A `Sampler` that does nothing: the innermost sampler when measuring a decorator's own cost.
public struct NoopSampler: Sampler {
    public init() {}

    @inline(__always)
    public func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int) {}

    /// Keeps nothing per route, so the catalog needs no work.
    public func apply(_ catalog: RouteCatalog) {}
}
