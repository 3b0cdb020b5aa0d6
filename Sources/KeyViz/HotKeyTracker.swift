import Synchronization

/// A route and an op: what the hot-key sketches are kept per.
struct RouteOp: Hashable, Sendable {
    var route: RouteID
    var op: Op
}

/// The background half of a ``HotKeySampler``: the sketches its samples are fed to, and what
/// reads them. Not generic, so its code is compiled for its concrete types once (inside the
/// generic sampler it ran unspecialized: generic metadata lookups were most of a drain).
///
/// Memory and allocation: one space-saving sketch over (route, op) pairs picks the hottest
/// ``HotKeySamplerConfiguration/trackedRoutes``; each has a ``KeySketch`` from a pool, reset and
/// reused when its pair stops being tracked, so draining allocates nothing once the pool and
/// the scratch buffer have grown (at most one sketch per tracked pair).
///
/// A newly admitted pair's first key is held back (copied aside) and fed to its sketch only
/// when the pair is sampled again or read: over a long tail most admitted pairs are evicted
/// before their second sample, and then they cost a copy instead of a sketch reset, a sketch
/// insert and a reservoir insert. What any read sees is the same.
final class HotKeyTracker: Sendable {
    /// A (route, op) pair the space-saving sketch over pairs tracks, and its key sketch.
    private struct Tracked {
        var pair: RouteOp
        var count: UInt64
        var error: UInt64
        var sketch: Int             // index into `sketches`
        /// The pair's first key waits in `pendingKeys` (its sketch and reservoir are then empty).
        var pending = false
        var pendingCut = false
        var pendingLength: UInt16 = 0
    }

    private struct State: ~Copyable {
        /// The space-saving sketch over pairs (capacity ``HotKeySamplerConfiguration/trackedRoutes``),
        /// searched linearly: it is small, and hashing a pair cost more than scanning 16 of them.
        var tracked: [Tracked] = []
        var sketches: [KeySketch] = []
        /// Sampled keys per tracked pair for split advice, pooled with `sketches` (same index).
        var reservoirs: [KeyReservoir] = []
        var free: [Int] = []
        /// The catalog last applied: the tracked routes' ranges, for split advice.
        var catalog: RouteCatalog?
        var lastHalvingMs: Int64
        var liveRoutes: Set<RouteID>?
        var samples: UInt64 = 0
        /// Key bytes kept per sample, and each sketch's held-back first key (`keyBytes` per sketch).
        let keyBytes: Int
        var pendingKeys: [UInt8] = []

        init(lastHalvingMs: Int64, keyBytes: Int) {
            self.lastHalvingMs = lastHalvingMs
            self.keyBytes = keyBytes
        }

        /// A reset key sketch from the pool (a new one only while fewer than the tracked pairs exist).
        mutating func takeSketch(capacity: Int, maxKeyBytes: Int, reservoirSize: Int) -> Int {
            if let i = free.popLast() { return i }
            sketches.append(KeySketch(capacity: capacity, maxKeyBytes: maxKeyBytes))
            reservoirs.append(KeyReservoir(capacity: reservoirSize, maxKeyBytes: maxKeyBytes, seed: UInt64(sketches.count)))
            pendingKeys.append(contentsOf: repeatElement(0, count: keyBytes))
            return sketches.count - 1
        }

        /// Holds `key` back as tracked entry `i`'s first key (its sketch is empty).
        mutating func hold(_ key: UnsafeRawBufferPointer, cut: Bool, at i: Int) {
            let length = min(key.count, keyBytes), at = tracked[i].sketch * keyBytes
            if length > 0 {
                pendingKeys.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: at).copyMemory(from: key.baseAddress!, byteCount: length) }
            }
            tracked[i].pending = true
            tracked[i].pendingCut = cut || key.count > keyBytes
            tracked[i].pendingLength = UInt16(length)
        }

        /// Feeds entry `i`'s held-back key, if any, to its sketch and reservoir.
        mutating func settle(_ i: Int) {
            guard tracked[i].pending else { return }
            tracked[i].pending = false
            let sketch = tracked[i].sketch, cut = tracked[i].pendingCut
            let length = Int(tracked[i].pendingLength), at = sketch * keyBytes
            pendingKeys.withUnsafeBytes { all in
                let key = UnsafeRawBufferPointer(start: all.baseAddress.map { $0 + at }, count: length)
                sketches.withUnsafeMutableBufferPointer { $0[sketch].add(key, cut: cut) }
                reservoirs.withUnsafeMutableBufferPointer { $0[sketch].add(key, cut: cut) }
            }
        }

        /// Settles every entry: before a read or a halving, so both see every sample.
        mutating func settleAll() {
            for i in tracked.indices { settle(i) }
        }

        mutating func release(_ sketch: Int) {
            reset(sketch)
            free.append(sketch)
        }

        mutating func reset(_ sketch: Int) {
            sketches[sketch].reset()
            reservoirs[sketch].reset()
        }

        /// Stops tracking entry `i` (swapped with the last).
        mutating func untrack(_ i: Int) {
            release(tracked[i].sketch)
            tracked.swapAt(i, tracked.count - 1)
            tracked.removeLast()
        }

        func index(of pair: RouteOp) -> Int? {
            tracked.firstIndex { $0.pair == pair }
        }
    }

    private let configuration: HotKeySamplerConfiguration
    private let queue: HotKeySampleQueue
    private let state: Mutex<State>
    private let scratch = Mutex<[UInt8]>([])
    let sampleEvery: Int

    init(configuration: HotKeySamplerConfiguration, queue: HotKeySampleQueue) {
        self.configuration = configuration
        self.queue = queue
        sampleEvery = configuration.effectiveSampleEvery
        state = Mutex(State(lastHalvingMs: configuration.now(), keyBytes: configuration.effectiveMaxKeyBytes))
    }

    /// Routes that left the catalog lose their sketches at the next drain; the catalog gives
    /// split advice its routes' ranges.
    func apply(_ catalog: RouteCatalog) {
        let live = Set(catalog.routes.map(\.id))
        state.withLock {
            $0.liveRoutes = live
            $0.catalog = catalog
        }
    }

    /// Split advice for the hottest tracked routes of `op` (at most ``HotKeySamplerConfiguration/splitAdviceRoutes``),
    /// hottest first by their guaranteed sampled count. Routes not in the last applied catalog are skipped (their range is unknown).
    func splitAdvice(op: Op) -> [SplitAdvice] {
        let limit = configuration.effectiveSplitAdviceRoutes, minSamples = configuration.effectiveSplitMinSamples
        return state.withLock { s in
            guard let catalog = s.catalog else { return [] }
            s.settleAll()
            // Ranked by the guaranteed count (count − error): a pair just admitted inherits the
            // evicted one's count as its error, so by count alone it would outrank routes that
            // have far more samples of their own.
            let ranked = s.tracked.filter { $0.pair.op == op }.sorted { a, b in
                let ga = a.count &- a.error, gb = b.count &- b.error
                return ga != gb ? ga > gb : a.count != b.count ? a.count > b.count : a.pair.route < b.pair.route
            }
            var out: [SplitAdvice] = []
            for t in ranked {
                guard out.count < limit else { break }
                guard let route = catalog.route(id: t.pair.route) else { continue }
                let c = SplitAdvisor.advise(keys: s.reservoirs[t.sketch].keys(), start: route.start, end: route.end,
                                            minSamples: minSamples)
                out.append(SplitAdvice(route: route.id, op: op, rank: out.count + 1, verdict: c.verdict, key: c.key,
                                       truncated: c.truncated, leftShare: c.leftShare, leftShareErrorBound: c.errorBound,
                                       samples: c.samples, routeStart: route.start, routeEnd: route.end))
            }
            return out
        }
    }

    /// Feeds queued samples to the sketches and halves counts when a window has passed.
    func drain() {
        let now = configuration.now()
        let window = configuration.windowMilliseconds
        let capacity = configuration.effectiveSketchCapacity, maxKey = configuration.effectiveMaxKeyBytes
        let trackedRoutes = configuration.effectiveTrackedRoutes
        let reservoirSize = configuration.effectiveSplitReservoirSize
        scratch.withLock { scratch in
            state.withLock { s in
                if let live = s.liveRoutes {
                    var i = 0
                    while i < s.tracked.count {
                        if live.contains(s.tracked[i].pair.route) { i += 1 } else { s.untrack(i) }
                    }
                    s.liveRoutes = nil
                }
                let n = queue.drain(scratch: &scratch) { route, op, key, truncated in
                    let pair = RouteOp(route: route, op: op)
                    // Space-saving over pairs: count a tracked pair, else track it, evicting
                    // the smallest count (the newcomer inherits it as its possible overcount).
                    // One pass finds the pair or, failing that, the smallest count (most samples
                    // of a long tail miss, and a miss needs both).
                    let (found, low) = s.tracked.withUnsafeBufferPointer { all -> (Int?, Int) in
                        var low = 0
                        for i in all.indices {
                            if all[i].pair == pair { return (i, 0) }
                            if all[i].count < all[low].count { low = i }
                        }
                        return (nil, low)
                    }
                    if let i = found {
                        s.tracked[i].count &+= 1
                        s.settle(i)
                        let sketch = s.tracked[i].sketch
                        s.sketches.withUnsafeMutableBufferPointer { $0[sketch].add(key, cut: truncated) }
                        s.reservoirs.withUnsafeMutableBufferPointer { $0[sketch].add(key, cut: truncated) }
                    } else if s.tracked.count < trackedRoutes {
                        s.tracked.append(Tracked(pair: pair, count: 1, error: 0,
                                                 sketch: s.takeSketch(capacity: capacity, maxKeyBytes: maxKey,
                                                                      reservoirSize: reservoirSize)))
                        s.hold(key, cut: truncated, at: s.tracked.count - 1)
                    } else {
                        let floor = s.tracked[low].count, sketch = s.tracked[low].sketch
                        if !s.tracked[low].pending { s.reset(sketch) }  // the evicted pair's keys
                        s.tracked[low] = Tracked(pair: pair, count: floor &+ 1, error: floor, sketch: sketch)
                        s.hold(key, cut: truncated, at: low)
                    }
                }
                s.samples &+= UInt64(n)
                if window > 0, now - s.lastHalvingMs >= window {
                    s.lastHalvingMs = now
                    s.settleAll()
                    var i = 0
                    while i < s.tracked.count {
                        s.tracked[i].count /= 2
                        s.tracked[i].error /= 2
                        if s.tracked[i].count == 0 {
                            s.untrack(i)
                        } else {
                            s.sketches[s.tracked[i].sketch].halve()
                            s.reservoirs[s.tracked[i].sketch].halve()
                            i += 1
                        }
                    }
                }
            }
        }
    }

    /// The hottest keys of `route` (of both ops, or of `op`), hottest first.
    func hotKeys(route: RouteID, op: Op?) -> [HotKey] {
        state.withLock { s in
            s.settleAll()
            return Op.allCases.filter { op == nil || $0 == op }.flatMap { o in hotKeys(of: RouteOp(route: route, op: o), in: s) }
        }
    }

    /// The hottest keys of `op` across every tracked route, hottest first, at most `limit`.
    func hottestKeys(op: Op, limit: Int) -> [HotKey] {
        state.withLock { s in
            s.settleAll()
            let all = s.tracked.filter { $0.pair.op == op }.flatMap { hotKeys(of: $0.pair, in: s) }
            return Array(all.sorted { $0.sampledCount != $1.sampledCount ? $0.sampledCount > $1.sampledCount
                                                                         : $0.key.lexicographicallyPrecedes($1.key) }
                .prefix(max(0, limit)))
        }
    }

    /// Routes (and ops) that have a key sketch now, hottest first.
    func trackedRoutes() -> [(route: RouteID, op: Op, samples: UInt64)] {
        state.withLock { s in
            s.tracked.sorted { $0.count != $1.count ? $0.count > $1.count : $0.error < $1.error }
                .map { ($0.pair.route, $0.pair.op, $0.count) }
        }
    }

    var samplesTaken: UInt64 { state.withLock { $0.samples } }

    /// Key sketches allocated (tracked and pooled): at most the tracked routes, whatever the traffic.
    var sketchesAllocated: Int { state.withLock { $0.sketches.count } }

    private func hotKeys(of pair: RouteOp, in s: borrowing State) -> [HotKey] {
        guard let i = s.index(of: pair) else { return [] }
        let sketch = s.sketches[s.tracked[i].sketch]
        return sketch.top(configuration.effectiveTopKeys).map { e in
            HotKey(route: pair.route, op: pair.op, key: e.key, truncated: e.truncated,
                   sampledCount: e.count, sampledError: e.error, routeSamples: sketch.total, sampleEvery: sampleEvery)
        }
    }
}
