import KeyViz
import Synchronization

/// Holds the current route catalog and routes keys with it.
///
/// Readers take the current catalog snapshot (an immutable value swapped whole) and binary
/// search it. Changes are serialised; each new catalog is handed to every observer (the
/// samplers) *before* it is swapped in, so no observation can carry a route id an observer
/// has not been told about.
public final class RouteEngine: Sendable {
    private let current: Mutex<RouteCatalog>
    private struct Changes: ~Copyable {
        var observers: [any RouteCatalogObserver] = []
    }
    private let changes = Mutex(Changes())

    public init(catalog: RouteCatalog) {
        current = Mutex(catalog)
    }

    /// The catalog in force now.
    public var catalog: RouteCatalog { current.withLock { $0 } }

    /// The route holding `key`, if any.
    public func route(forKey key: some Collection<UInt8>) -> Route? {
        current.withLock { $0.route(forKey: key) }
    }

    /// Registers an observer and tells it the current catalog at once.
    public func addObserver(_ observer: any RouteCatalogObserver) {
        changes.withLock { c in
            observer.apply(catalog)
            c.observers.append(observer)
        }
    }

    /// Applies a change to the catalog: observers first, then publication.
    @discardableResult
    public func update(_ change: (RouteCatalog) throws(RouteCatalogError) -> RouteCatalog) throws(RouteCatalogError) -> RouteCatalog {
        try changes.withLock { (c: inout Changes) throws(RouteCatalogError) -> RouteCatalog in
            let next = try change(catalog)
            for o in c.observers { o.apply(next) }
            current.withLock { $0 = next }
            return next
        }
    }
}
