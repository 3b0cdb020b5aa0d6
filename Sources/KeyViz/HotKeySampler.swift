import Synchronization

/// A ``Sampler`` decorator that finds each hot route's hottest keys: it forwards every call to
/// the sampler it wraps and samples one key-carrying observation in R per thread.
///
/// The hot path adds a per-thread countdown (one load and one store on the thread's own cache
/// line); the 1-in-R sampled call copies its key (cut at a cap) into a bounded per-thread
/// queue, dropping and counting it when the queue is full or busy. Nothing allocates or waits.
/// A background step (``drain()``, run by ``runDrainer(every:)`` or by any read)
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
    private let tracker: HotKeyTracker

    public init(wrapping inner: Inner, configuration: HotKeySamplerConfiguration = .init()) {
        self.inner = inner
        self.configuration = configuration
        sampleEvery = configuration.effectiveSampleEvery
        countdown = SampleCountdown(every: configuration.effectiveSampleEvery)
        queue = HotKeySampleQueue(stripes: countdown.stripeCount, capacity: configuration.effectiveQueueCapacity,
                                  maxKeyBytes: configuration.effectiveMaxKeyBytes)
        tracker = HotKeyTracker(configuration: configuration, queue: queue)
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
    /// The thread's stripe is read once, here, for the countdown and for every sampler inside.
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int) {
        observe(route: route, op: op, key: key, valueLength: valueLength,
                thread: CallingThread(stripe: ThreadStripe.current(key: countdown.key)))
    }

    /// The countdown runs before the forward: nothing of this call is then live after the
    /// inner chain, so the host's loop keeps no route, op or key across it (fewer spills).
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int, thread: CallingThread) {
        if let stripe = countdown.tick(stripe: thread.stripe) { sample(stripe: stripe, route: route, op: op, key: key) }
        inner.observe(route: route, op: op, key: key, valueLength: valueLength, thread: thread)
    }

    @usableFromInline @inline(never)
    func sample(stripe: Int, route: RouteID, op: Op, key: UnsafeRawBufferPointer) {
        queue.push(stripe: stripe, route: route, op: op, key: key)
    }

    /// Forwards the catalog; sketches of routes that left it are dropped at the next drain.
    public func apply(_ catalog: RouteCatalog) {
        inner.apply(catalog)
        tracker.apply(catalog)
    }

    // MARK: the background step

    /// Feeds queued samples to the sketches and halves counts when a window has passed.
    /// Called by ``runDrainer(every:)``, and by every read below.
    public func drain() {
        tracker.drain()
    }

    /// Drains every `interval` (at least 1 ms) until the task is cancelled.
    public func runDrainer(every interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: max(interval, .milliseconds(1)))
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
        return tracker.hotKeys(route: route, op: op)
    }

    /// The hottest keys of `op` across every tracked route, hottest first (by samples), at most
    /// `limit` (default ``HotKeySamplerConfiguration/topKeys``).
    public func hottestKeys(op: Op, limit: Int? = nil) -> [HotKey] {
        drain()
        return tracker.hottestKeys(op: op, limit: limit ?? configuration.effectiveTopKeys)
    }

    /// Where to split the hottest routes of `op` (of both ops when nil: reads first), hottest
    /// first, at most ``HotKeySamplerConfiguration/splitAdviceRoutes`` per op. Advice only:
    /// nothing is split.
    public func splitAdvice(op: Op? = nil) -> [SplitAdvice] {
        drain()
        return Op.allCases.filter { op == nil || $0 == op }.flatMap { tracker.splitAdvice(op: $0) }
    }

    /// The advice of ``splitAdvice(op:)`` every `interval` (at least 1 ms), for a host that acts on it
    /// (its coordinator decides, with its own hysteresis; see docs/embedding.md). The sequence
    /// ends when the consuming task is cancelled.
    public func splitAdviceUpdates(every interval: Duration = .seconds(1)) -> AsyncStream<[SplitAdvice]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [SplitAdvice].self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: max(interval, .milliseconds(1)))
                } catch {
                    break
                }
                guard let self else { break }
                continuation.yield(self.splitAdvice())
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Routes (and ops) that have a key sketch now, hottest first.
    public func trackedRoutes() -> [(route: RouteID, op: Op, samples: UInt64)] {
        drain()
        return tracker.trackedRoutes()
    }

    /// Samples taken into the sketches so far, and samples dropped (queue full or busy).
    public var sampleCounts: (taken: UInt64, dropped: UInt64) {
        (tracker.samplesTaken, queue.droppedCount)
    }

    /// Key sketches allocated, tracked and pooled (bounded by the tracked routes).
    package var keySketchesAllocated: Int { tracker.sketchesAllocated }
}

extension HotKeySampler: RouteCountsSharing {
    /// Every observation is forwarded unchanged, so the inner sampler's table counts them all.
    package var sharedRouteSlots: RouteSlots? { (inner as? any RouteCountsSharing)?.sharedRouteSlots }
}
