import Synchronization

/// A ``Sampler`` decorator that finds each hot route's hottest keys: it forwards every call to
/// the sampler it wraps and samples one key-carrying observation in R per thread.
///
/// The hot path adds a per-thread countdown (one load and one store on the thread's own cache
/// line); the 1-in-R sampled call copies its key (cut at a cap) into a bounded per-thread
/// queue, dropping and counting it when the queue is full or busy. Nothing allocates or waits.
/// A background step (``drain()``, run by ``runDrainer(everyMilliseconds:)`` or by any read)
/// feeds the samples to space-saving sketches: one over (route, op) pairs picks the hottest
/// ``HotKeySamplerConfiguration/trackedRoutes`` of them, and each of those has a sketch of its
/// keys. Memory is bounded by the configuration, whatever the traffic.
///
/// Length-only observations (``observe(route:op:keyLength:valueLength:)``) are forwarded and
/// not sampled: there is no key to look at. Put this decorator outermost, where the host's
/// key-carrying calls arrive.
public final class HotKeySampler<Inner: Sampler>: Sampler {
    public let inner: Inner
    public let configuration: HotKeySamplerConfiguration
    /// The sampling rate in force (the configuration's, clamped).
    public let sampleEvery: Int
    @usableFromInline let countdown: SampleCountdown
    private let queue: HotKeySampleQueue
    private let state: Mutex<State>

    private struct RouteOp: Hashable, Sendable {
        var route: RouteID
        var op: Op
    }

    private struct SampledKey: Hashable, Sendable {
        var bytes: [UInt8]
        var truncated: Bool
    }

    private struct State: ~Copyable {
        var routes: SpaceSavingSketch<RouteOp>
        var keys: [RouteOp: SpaceSavingSketch<SampledKey>] = [:]
        var lastHalvingMs: Int64
        var liveRoutes: Set<RouteID>?
        var samples: UInt64 = 0
    }

    public init(wrapping inner: Inner, configuration: HotKeySamplerConfiguration = .init()) {
        self.inner = inner
        self.configuration = configuration
        sampleEvery = configuration.effectiveSampleEvery
        countdown = SampleCountdown(every: configuration.effectiveSampleEvery)
        queue = HotKeySampleQueue(stripes: countdown.stripeCount, capacity: configuration.effectiveQueueCapacity,
                                  maxKeyBytes: configuration.effectiveMaxKeyBytes)
        state = Mutex(State(routes: SpaceSavingSketch(capacity: configuration.effectiveTrackedRoutes),
                            lastHalvingMs: configuration.now()))
    }

    deinit {
        countdown.deallocate()
    }

    // MARK: Sampler

    @inlinable
    public func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int) {
        inner.observe(route: route, op: op, keyLength: keyLength, valueLength: valueLength)
    }

    /// Inlinable so a host in another module gets it specialized for its chain: the forward
    /// is a direct call and the countdown a few inlined instructions.
    @inlinable
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int) {
        inner.observe(route: route, op: op, key: key, valueLength: valueLength)
        if let stripe = countdown.tick() { sample(stripe: stripe, route: route, op: op, key: key) }
    }

    @usableFromInline @inline(never)
    func sample(stripe: Int, route: RouteID, op: Op, key: UnsafeRawBufferPointer) {
        queue.push(stripe: stripe, route: route, op: op, key: key)
    }

    /// Forwards the catalog; sketches of routes that left it are dropped at the next drain.
    public func apply(_ catalog: RouteCatalog) {
        inner.apply(catalog)
        let live = Set(catalog.routes.map(\.id))
        state.withLock { $0.liveRoutes = live }
    }

    // MARK: the background step

    /// Feeds queued samples to the sketches and halves counts when a window has passed.
    /// Called by ``runDrainer(everyMilliseconds:)``, and by every read below.
    public func drain() {
        let samples = queue.drain()
        let now = configuration.now()
        let window = configuration.windowMilliseconds
        let capacity = configuration.effectiveSketchCapacity
        state.withLock { s in
            if let live = s.liveRoutes {
                for pair in s.keys.keys where !live.contains(pair.route) {
                    s.keys[pair] = nil
                    s.routes.remove(pair)
                }
                s.liveRoutes = nil
            }
            for sample in samples {
                let pair = RouteOp(route: sample.route, op: sample.op)
                if let evicted = s.routes.add(pair) { s.keys[evicted] = nil }
                s.keys[pair, default: SpaceSavingSketch(capacity: capacity)]
                    .add(SampledKey(bytes: sample.key, truncated: sample.truncated))
            }
            s.samples &+= UInt64(samples.count)
            if window > 0, now - s.lastHalvingMs >= window {
                s.lastHalvingMs = now
                s.routes.halve()
                let tracked = Set(s.routes.entries.map(\.item))
                s.keys = s.keys.filter { tracked.contains($0.key) }
                for pair in Array(s.keys.keys) {
                    s.keys[pair]!.halve()
                    if s.keys[pair]!.isEmpty { s.keys[pair] = nil }
                }
            }
        }
    }

    /// Drains every `everyMilliseconds` until the task is cancelled.
    public func runDrainer(everyMilliseconds: Int64 = 1_000) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(max(1, everyMilliseconds)))
            } catch {
                break
            }
            drain()
        }
    }

    // MARK: reading

    /// The hottest keys of `route` (of both ops, or of `op`), hottest first, at most
    /// ``HotKeySamplerConfiguration/topKeys`` per op. Empty for a route without a sketch.
    public func hotKeys(route: RouteID, op: Op? = nil) -> [HotKey] {
        drain()
        return state.withLock { s in
            Op.allCases.filter { op == nil || $0 == op }.flatMap { o in
                hotKeys(of: RouteOp(route: route, op: o), in: s)
            }
        }
    }

    /// The hottest keys of `op` across every tracked route, hottest first (by samples), at most
    /// `limit` (default ``HotKeySamplerConfiguration/topKeys``).
    public func hottestKeys(op: Op, limit: Int? = nil) -> [HotKey] {
        drain()
        let k = max(0, limit ?? configuration.effectiveTopKeys)
        return state.withLock { s in
            let all = s.keys.keys.filter { $0.op == op }.flatMap { hotKeys(of: $0, in: s) }
            return Array(all.sorted { $0.sampledCount != $1.sampledCount ? $0.sampledCount > $1.sampledCount
                                                                         : $0.key.lexicographicallyPrecedes($1.key) }
                .prefix(k))
        }
    }

    /// Routes (and ops) that have a key sketch now, hottest first.
    public func trackedRoutes() -> [(route: RouteID, op: Op, samples: UInt64)] {
        drain()
        return state.withLock { s in s.routes.top(s.routes.capacity).map { ($0.item.route, $0.item.op, $0.count) } }
    }

    /// Samples taken into the sketches so far, and samples dropped (queue full or busy).
    public var sampleCounts: (taken: UInt64, dropped: UInt64) {
        let taken = state.withLock { $0.samples }
        return (taken, queue.droppedCount)
    }

    private func hotKeys(of pair: RouteOp, in s: borrowing State) -> [HotKey] {
        guard let sketch = s.keys[pair] else { return [] }
        return sketch.top(configuration.effectiveTopKeys).map { e in
            HotKey(route: pair.route, op: pair.op, key: e.item.bytes, truncated: e.item.truncated,
                   sampledCount: e.count, sampledError: e.error, routeSamples: sketch.total, sampleEvery: sampleEvery)
        }
    }
}

extension HotKeySampler: RouteCountsSharing {
    /// Every observation is forwarded unchanged, so the inner sampler's table counts them all.
    package var sharedRouteSlots: RouteSlots? { (inner as? any RouteCountsSharing)?.sharedRouteSlots }
}
