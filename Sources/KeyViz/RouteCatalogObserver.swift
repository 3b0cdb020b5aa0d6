/// Something that must know the current route catalog, such as a sampler that keeps per-route
/// counters. Every ``Sampler`` is one.
///
/// The route engine calls ``apply(_:)`` with every new catalog *before* it publishes it, so an
/// observation never carries a route id the observer has not been told about. Decorators
/// forward the call to the sampler they wrap.
public protocol RouteCatalogObserver: Sendable {
    func apply(_ catalog: RouteCatalog)
}
