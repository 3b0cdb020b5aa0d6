#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif
public import KeyViz
import Synchronization

/// Holds the current route catalog and routes keys with it.
///
/// Lookups take no lock: the catalog is an immutable value published behind an atomic pointer,
/// and a reader announces itself on a per-thread stripe of reader counters while it searches.
/// A change builds the next catalog, tells every observer (the samplers) *before* publishing
/// it — so no observation can carry a route id an observer has not been told about — swaps
/// the pointer, then waits for the readers that may still hold the old catalog before
/// releasing it (a two-phase grace period, as in sleepable RCU). Changes are serialised.
///
/// A reader costs one relaxed load, two uncontended atomic adds on its own cache line and the
/// binary search; threads never write a shared line, so lookups scale with cores.
public final class RouteEngine: @unchecked Sendable {
    // `@unchecked`: besides the Mutex, the state is atomics and memory holding only atomics,
    // allocated in init and freed in deinit.

    private final class Published: Sendable {
        let catalog: RouteCatalog
        init(_ catalog: RouteCatalog) { self.catalog = catalog }
    }

    private struct Changes: ~Copyable {
        var observers: [any RouteCatalogObserver] = []
    }

    private static let stripes = 16
    /// Ints per stripe: one 64-byte line each, so two stripes never share a line.
    private static let stride = 8

    private let changes = Mutex(Changes())
    private let current: Atomic<UnsafeRawPointer>
    private let phase = Atomic<Int>(0)
    /// `2 × stripes` reader counters (phase 0 then phase 1), one cache line apart.
    private let readers: UnsafeMutablePointer<Atomic<Int>>

    public init(catalog: RouteCatalog) {
        current = Atomic(UnsafeRawPointer(Unmanaged.passRetained(Published(catalog)).toOpaque()))
        let count = 2 * Self.stripes * Self.stride
        guard let raw = calloc(count, MemoryLayout<Atomic<Int>>.stride) else {
            fatalError("RouteEngine: out of memory")
        }
        readers = raw.bindMemory(to: Atomic<Int>.self, capacity: count)
    }

    deinit {
        Unmanaged<Published>.fromOpaque(current.load(ordering: .relaxed)).release()
        free(readers)
    }

    // MARK: lookups (lock-free)

    /// The catalog in force now.
    public var catalog: RouteCatalog { read { $0 } }

    /// The route holding `key`, if any.
    public func route(forKey key: some Collection<UInt8>) -> Route? {
        read { $0.route(forKey: key) }
    }

    /// The id and group of the route holding `key`: what a coordinator needs, without copying
    /// the route's keys.
    public func placement(forKey key: some Collection<UInt8>) -> RoutePlacement? {
        read { c in c.index(forKey: key).map { RoutePlacement(route: c.routes[$0].id, group: c.routes[$0].group) } }
    }

    @inline(__always)
    private func read<T>(_ body: (RouteCatalog) -> T) -> T {
        let counter = readers + slot(phase: phase.load(ordering: .relaxed) & 1)
        counter.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { counter.pointee.wrappingSubtract(1, ordering: .releasing) }
        let published = Unmanaged<Published>.fromOpaque(current.load(ordering: .sequentiallyConsistent))
        return published._withUnsafeGuaranteedRef { body($0.catalog) }
    }

    @inline(__always)
    private func slot(phase: Int) -> Int {
        // pthread_self differs per thread by (large) stack strides: mix it, keep the top bits.
        let mixed = UInt64(pthread_self()) &* 0x9E37_79B9_7F4A_7C15
        let stripe = Int(truncatingIfNeeded: mixed >> 60) & (Self.stripes - 1)
        return (phase * Self.stripes + stripe) * Self.stride
    }

    // MARK: changes (serialised)

    /// Registers an observer and tells it the current catalog at once.
    public func addObserver(_ observer: any RouteCatalogObserver) {
        changes.withLock { c in
            observer.apply(catalog)
            c.observers.append(observer)
        }
    }

    /// Applies a change to the catalog: observers first, then publication. Returns the new
    /// catalog; a change that throws leaves everything as it was.
    @discardableResult
    public func update<E: Error>(_ change: (RouteCatalog) throws(E) -> RouteCatalog) throws(E) -> RouteCatalog {
        try changes.withLock { (c: inout Changes) throws(E) -> RouteCatalog in
            let next = try change(catalog)
            for o in c.observers { o.apply(next) }
            publish(next)
            return next
        }
    }

    /// Swaps in `next` and releases the old catalog once no reader can hold it. Called with
    /// `changes` held, so there is one writer.
    private func publish(_ next: RouteCatalog) {
        let fresh = UnsafeRawPointer(Unmanaged.passRetained(Published(next)).toOpaque())
        let old = current.exchange(fresh, ordering: .sequentiallyConsistent)
        // Two flips: a reader that read the phase just before one flip may announce itself in
        // the phase we already drained, but then it loads the pointer after our exchange and
        // holds the new catalog; waiting on both phases covers every reader that could hold
        // the old one.
        for _ in 0..<2 {
            let draining = phase.load(ordering: .relaxed) & 1
            phase.store(draining ^ 1, ordering: .sequentiallyConsistent)
            while activeReaders(phase: draining) != 0 { sched_yield() }
        }
        Unmanaged<Published>.fromOpaque(old).release()
    }

    private func activeReaders(phase: Int) -> Int {
        var sum = 0
        for s in 0..<Self.stripes {
            sum &+= readers[(phase * Self.stripes + s) * Self.stride].load(ordering: .sequentiallyConsistent)
        }
        return sum
    }
}
