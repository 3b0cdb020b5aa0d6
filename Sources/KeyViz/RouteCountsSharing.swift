/// A sampler whose every observation is counted in a `RouteSlots` table that a decorator
/// wrapping it may read instead of counting again.
///
/// The Prometheus decorator asks its inner sampler for this once, at init: when the chain below
/// already counts per route (the heat matrix does), the decorator registers as a second reader
/// of that table and its own `observe` only forwards. One table per chain: one slot lookup and
/// one locked add per observation, whatever the number of readers. A decorator that forwards
/// every observation unchanged passes its inner sampler's table on.
package protocol RouteCountsSharing {
    /// The table every observation through this sampler lands in, or nil.
    var sharedRouteSlots: RouteSlots? { get }
}
