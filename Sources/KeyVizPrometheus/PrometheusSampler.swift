#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif
public import KeyViz
public import Logging
import Synchronization

/// A `Sampler` decorator that forwards every call to the sampler it wraps and exports per-route
/// counts and bytes as Prometheus counters over a bounded, stable set of buckets (see
/// ``BucketLayout``).
///
/// *One table per chain.* When the inner sampler already counts every observation per route
/// (`HeatMatrixSampler`, or a decorator over it such as `HotKeySampler`), this decorator
/// reads that table as a second consumer and its `observe` only forwards: one slot lookup and
/// one locked add per observation for the whole chain. Over any other sampler it keeps a
/// table of its own (then the route grace window and stripes are this configuration's; when
/// shared, the inner sampler's). Either way the hot path is lock-free, allocates nothing and
/// touches no reference count, and it is inlinable, so a host in another module gets the chain
/// specialized and inlined.
///
/// Relayout after a catalog change and folding per-route deltas into bucket counters happen
/// under one lock; a render folds (visiting only the routes touched since the last fold),
/// marks the values it exports and copies its state under that lock, then ranks hot routes and
/// writes bytes outside it, so a render is one consistent snapshot and `apply(_:)` never waits
/// for more than one fold.
public final class PrometheusSampler<Inner: Sampler>: Sampler {
    public let inner: Inner
    public let configuration: PrometheusSamplerConfiguration
    private let slots: RouteSlots
    private let consumer: Int
    /// Whether `slots` is this decorator's own table (the inner sampler does not count).
    @usableFromInline let countsOwn: Bool
    @usableFromInline let hotPath: CounterStorage     // copied out of `slots` so observe retains nothing
    private let state: Mutex<RenderState>

    /// - Parameters:
    ///   - inner: the sampler every call is forwarded to; when it counts per route (the heat
    ///     matrix), its counter table is read instead of a second one.
    ///   - configuration: buckets, hot routes, label mode, grace window, clock.
    ///   - logger: where layout changes (debug) and collector name conflicts (warning, once per
    ///     name) go; by default nowhere.
    public init(wrapping inner: Inner, configuration: PrometheusSamplerConfiguration = .init(),
                logger: Logger = Logger(label: "keyviz.prometheus", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.inner = inner
        self.configuration = configuration
        if let shared = (inner as? any RouteCountsSharing)?.sharedRouteSlots {
            slots = shared
            countsOwn = false
        } else {
            slots = RouteSlots(stripes: configuration.stripes, graceMs: configuration.effectiveGrace)
            countsOwn = true
        }
        hotPath = slots.counters.storage
        consumer = slots.addConsumer()
        state = Mutex(RenderState(configuration: configuration, logger: logger))
    }

    /// A decorator over a shared table stops reading it: its inbox would otherwise keep filling
    /// and hold back slot recycling for as long as the inner sampler lives.
    deinit {
        slots.removeConsumer(consumer)
    }

    // MARK: Sampler

    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int) {
        if countsOwn {
            hotPath.record(route: route, op: op, bytes: Self.observedBytes(keyLength: keyLength, valueLength: valueLength))
        }
        inner.observe(route: route, op: op, keyLength: keyLength, valueLength: valueLength)
    }

    /// Counts like the length-only form and hands the key on to the inner sampler, with the
    /// thread's stripe when this decorator read it (one thread-specific read for the chain).
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int) {
        if countsOwn {
            observe(route: route, op: op, key: key, valueLength: valueLength, thread: hotPath.callingThread)
        } else {
            inner.observe(route: route, op: op, key: key, valueLength: valueLength)
        }
    }

    /// From a decorator that read the thread's stripe: counted with it, and passed on.
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int, thread: CallingThread) {
        if countsOwn {
            hotPath.record(route: route, op: op, bytes: Self.observedBytes(keyLength: key.count, valueLength: valueLength),
                           stripe: thread.stripe)
        }
        inner.observe(route: route, op: op, key: key, valueLength: valueLength, thread: thread)
    }

    // MARK: RouteCatalogObserver

    /// Maps the catalog's routes to counters (so observations count at once) and passes the
    /// catalog on to the inner sampler. The bucket layout follows at the next
    /// render.
    public func apply(_ catalog: RouteCatalog) {
        let now = configuration.now()
        if countsOwn { slots.apply(catalog, nowMs: now) }
        // Retired routes are released only by a fold. Without scrapes, route churn would pile
        // them up (and their counter slots) for ever, so fold here once there are many.
        let fold = slots.retiredRouteCount > max(1024, catalog.routes.count / 8)
        state.withLock { s in
            s.pendingCatalog = catalog
            if fold { s.fold(slots: slots, consumer: consumer, nowMs: now) }
        }
        inner.apply(catalog)
    }

    // MARK: collectors

    /// Adds a host collector; its families join every later render.
    public func register(_ collector: any MetricsCollector) {
        state.withLock { $0.collectors.append(collector) }
    }

    // MARK: rendering

    /// Folds the counters and renders every family in `format`.
    public func render(format: ExpositionFormat) -> [UInt8] {
        let started = Self.monotonicSeconds()
        var copy = state.withLock { s in
            s.fold(slots: slots, consumer: consumer, nowMs: configuration.now())
            s.counters.markExported()
            return s
        }
        let conflictsBefore = copy.collectorConflicts
        var out: [UInt8] = []
        out.reserveCapacity(copy.lastRenderSize + 1024)
        copy.write(format: format, slots: slots, to: &out)
        let seconds = Self.monotonicSeconds() - started
        state.withLock { s in
            s.collectorConflicts &+= copy.collectorConflicts &- conflictsBefore
            s.reportedConflicts.formUnion(copy.reportedConflicts)
            s.hotRouteBuckets = copy.hotRouteBuckets    // the buckets of the routes this render ranked
            s.lastRenderSize = out.count
            s.lastRenderSeconds = seconds
        }
        return out
    }

    /// The bucket layout in force after a fold (folds first).
    public func currentLayout() -> BucketLayout {
        state.withLock { s in
            s.fold(slots: slots, consumer: consumer, nowMs: configuration.now())
            return s.layout
        }
    }

    /// Cumulative counts per bucket label (live labels only), after a fold.
    public func bucketTotals() -> [String: OpCounts] {
        state.withLock { s in
            s.fold(slots: slots, consumer: consumer, nowMs: configuration.now())
            return Dictionary(uniqueKeysWithValues: zip(s.counters.labels, s.counters.values))
        }
    }

    /// Cumulative unrouted counts, after a fold.
    public func unroutedTotals() -> OpCounts {
        state.withLock { s in
            s.fold(slots: slots, consumer: consumer, nowMs: configuration.now())
            return s.unrouted
        }
    }

    /// Counter slots the folds (and the matrix's flushes, when the table is shared) have visited
    /// (for tests of render cost).
    var slotsVisited: Int { slots.slotsVisited }

    /// Routes the hot-route ranking looks at (for tests of render cost).
    var hotRouteCandidates: Int { state.withLock { $0.hot.candidateCount } }

    /// Times the bucket boundaries changed (for tests).
    var layoutChangeCount: UInt64 { state.withLock { $0.layoutChanges } }

    /// Routes retired and not yet released (for tests of boundedness).
    var retiredRouteCount: Int { slots.retiredRouteCount }

    /// Sizes of the label bookkeeping (for tests of boundedness).
    var labelBookkeeping: (live: Int, retired: Int, orderLength: Int, meanings: Int) {
        state.withLock { ($0.counters.labels.count, $0.counters.retiredCount, $0.counters.retiredOrderLength, $0.counters.rememberedMeanings) }
    }

    /// Key bytes hashed so far by relayouts (for tests of render cost).
    var hashedKeyBytes: Int {
        state.withLock { $0.hashedKeyBytes + $0.counters.hashedBytes }
    }

    /// Each live label's incarnation (see ``BucketCounters``), without folding (for tests).
    var labelIncarnations: [String: UInt64] {
        state.withLock { Dictionary(uniqueKeysWithValues: zip($0.counters.labels, $0.counters.incarnations)) }
    }

    /// The layout in force, without folding (for tests: the layout the last render used).
    var layoutWithoutFold: BucketLayout { state.withLock { $0.layout } }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
