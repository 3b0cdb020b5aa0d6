@testable import KeyViz
import KeyVizTestKit
import Testing

/// ``HotKeySampler`` against a reference model over every public entry point (observe, drain,
/// apply, the clock's windows, and all four reads), after every step. With R = 1 on one thread
/// every key-carrying observation is sampled in order, so the model is exact: a space-saving
/// sketch over (route, op) pairs kept as a plain array, a ``SpaceSavingSketch`` of each tracked
/// pair's keys, and a ``KeyReservoir`` for its split advice, fed every sample the moment it is
/// drained. The sampler may defer work (it holds a pair's first key back until the pair is
/// sampled again or read); nothing it answers may differ.
@Suite struct HotKeySamplerModelTests {
    private struct Key: Hashable, Sendable { var bytes: [UInt8]; var truncated: Bool }

    /// The reference: what the sampler's answers must be, computed the plain way.
    private struct Model {
        struct Tracked { var pair: RouteOp; var count: UInt64; var error: UInt64; var slot: Int }
        let cfg: HotKeySamplerConfiguration
        var tracked: [Tracked] = []
        var sketches: [SpaceSavingSketch<Key>] = []
        var reservoirs: [KeyReservoir] = []
        var free: [Int] = []
        var queued: [(RouteOp, [UInt8])] = []
        var live: Set<RouteID>?
        var catalog: RouteCatalog?
        var lastHalving: Int64

        mutating func take() -> Int {
            if let i = free.popLast() { return i }
            sketches.append(SpaceSavingSketch(capacity: cfg.effectiveSketchCapacity))
            reservoirs.append(KeyReservoir(capacity: cfg.effectiveSplitReservoirSize, maxKeyBytes: cfg.effectiveMaxKeyBytes,
                                           seed: UInt64(sketches.count)))
            return sketches.count - 1
        }

        mutating func untrack(_ i: Int) {
            sketches[tracked[i].slot].reset()
            reservoirs[tracked[i].slot].reset()
            free.append(tracked[i].slot)
            tracked.swapAt(i, tracked.count - 1)
            tracked.removeLast()
        }

        mutating func drain(now: Int64) {
            if let live {
                var i = 0
                while i < tracked.count { if live.contains(tracked[i].pair.route) { i += 1 } else { untrack(i) } }
                self.live = nil
            }
            let maxKey = cfg.effectiveMaxKeyBytes
            for (pair, full) in queued {
                let key = Key(bytes: Array(full.prefix(maxKey)), truncated: full.count > maxKey)
                let m: Int
                if let i = tracked.firstIndex(where: { $0.pair == pair }) {
                    tracked[i].count += 1
                    m = i
                } else if tracked.count < cfg.effectiveTrackedRoutes {
                    tracked.append(Tracked(pair: pair, count: 1, error: 0, slot: take()))
                    m = tracked.count - 1
                } else {
                    var low = 0
                    for i in tracked.indices where tracked[i].count < tracked[low].count { low = i }
                    let floor = tracked[low].count, slot = tracked[low].slot
                    sketches[slot].reset()
                    reservoirs[slot].reset()
                    tracked[low] = Tracked(pair: pair, count: floor + 1, error: floor, slot: slot)
                    m = low
                }
                _ = sketches[tracked[m].slot].add(key)
                full.withUnsafeBytes { reservoirs[tracked[m].slot].add($0, cut: false) }
            }
            queued = []
            let window = cfg.windowMilliseconds
            if window > 0, now - lastHalving >= window {
                lastHalving = now
                var i = 0
                while i < tracked.count {
                    tracked[i].count /= 2
                    tracked[i].error /= 2
                    if tracked[i].count == 0 {
                        untrack(i)
                    } else {
                        sketches[tracked[i].slot].halve()
                        reservoirs[tracked[i].slot].halve()
                        i += 1
                    }
                }
            }
        }

        func hotKeys(_ pair: RouteOp) -> [HotKey] {
            guard let t = tracked.first(where: { $0.pair == pair }) else { return [] }
            let sketch = sketches[t.slot]
            return sketch.entries.sorted { a, b in
                if a.count != b.count { return a.count > b.count }
                if a.error != b.error { return a.error < b.error }
                return a.item.bytes.lexicographicallyPrecedes(b.item.bytes)
            }.prefix(cfg.effectiveTopKeys).map { e in
                HotKey(route: pair.route, op: pair.op, key: e.item.bytes, truncated: e.item.truncated, sampledCount: e.count,
                       sampledError: e.error, routeSamples: sketch.total, sampleEvery: 1)
            }
        }

        func hotKeys(route: RouteID, op: Op?) -> [HotKey] {
            Op.allCases.filter { op == nil || $0 == op }.flatMap { hotKeys(RouteOp(route: route, op: $0)) }
        }

        func hottestKeys(op: Op, limit: Int) -> [HotKey] {
            Array(tracked.filter { $0.pair.op == op }.flatMap { hotKeys($0.pair) }
                .sorted { $0.sampledCount != $1.sampledCount ? $0.sampledCount > $1.sampledCount
                                                             : $0.key.lexicographicallyPrecedes($1.key) }
                .prefix(limit))
        }

        func trackedRoutes() -> [String] {
            tracked.sorted { $0.count != $1.count ? $0.count > $1.count : $0.error < $1.error }
                .map { "\($0.pair.route)/\($0.pair.op)/\($0.count)" }
        }

        func splitAdvice(op: Op) -> [SplitAdvice] {
            guard let catalog else { return [] }
            let ranked = tracked.filter { $0.pair.op == op }.sorted { a, b in
                let ga = a.count - a.error, gb = b.count - b.error
                return ga != gb ? ga > gb : a.count != b.count ? a.count > b.count : a.pair.route < b.pair.route
            }
            var out: [SplitAdvice] = []
            for t in ranked where out.count < cfg.effectiveSplitAdviceRoutes {
                guard let route = catalog.route(id: t.pair.route) else { continue }
                let c = SplitAdvisor.advise(keys: reservoirs[t.slot].keys(), start: route.start, end: route.end,
                                            minSamples: cfg.effectiveSplitMinSamples)
                out.append(SplitAdvice(route: route.id, op: op, rank: out.count + 1, verdict: c.verdict, key: c.key,
                                       truncated: c.truncated, leftShare: c.leftShare, leftShareErrorBound: c.errorBound,
                                       samples: c.samples, routeStart: route.start, routeEnd: route.end))
            }
            return out
        }
    }

    @Test(arguments: Array(1...16) as [UInt64])
    func everyAnswerMatchesTheReferenceModelAfterEveryStep(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let clock = ManualClock()
        let cfg = HotKeySamplerConfiguration(
            sampleEvery: 1, topKeys: 1 + below(4), sketchCapacity: 1 + below(6), trackedRoutes: 1 + below(4),
            maxKeyBytes: 1 + below(6), queueCapacity: 65_536, splitAdviceRoutes: 1 + below(3), splitReservoirSize: 16,
            splitMinSamples: 1 + below(4), windowMilliseconds: [0, 1_000][below(2)], now: clock.function)
        let sampler = HotKeySampler(wrapping: NoopSampler(), configuration: cfg)
        var model = Model(cfg: cfg, lastHalving: clock.now)
        // Keys in a small alphabet (they repeat and evict), some longer than the cap (cut).
        let keys: [[UInt8]] = (0..<12).map { _ in (0..<below(9)).map { _ in UInt8(ascii: "a") + UInt8(below(3)) } }
        let catalogs = [RouteCatalog.evenlySplit(count: 6, groups: 1), try RouteCatalog.evenlySplit(count: 6, groups: 1).merging(2, 3),
                        RouteCatalog.evenlySplit(count: 3, groups: 1)]
        let first = catalogs[0]
        sampler.apply(first)
        model.live = Set(first.routes.map(\.id))
        model.catalog = first
        // A long tail over many routes in some seeds (most samples evict), a few hot routes in others.
        let routes = seed % 2 == 0 ? 6 : 24
        for step in 0..<1_500 {
            let what = below(100)
            let label: String
            var got = "", want = ""
            switch what {
            case 0..<70:
                let route = RouteID(UInt64(1 + (below(3) == 0 ? below(routes) : below(2)))), op: Op = below(3) == 0 ? .write : .read
                let key = keys[below(3) == 0 ? below(keys.count) : below(3)]
                key.withUnsafeBytes { sampler.observe(route: route, op: op, key: $0, valueLength: 0) }
                model.queued.append((RouteOp(route: route, op: op), key))
                label = "observe"
            case 70..<74:
                sampler.drain()
                model.drain(now: clock.now)
                label = "drain"
            case 74..<77:
                let c = catalogs[below(catalogs.count)]
                sampler.apply(c)
                model.live = Set(c.routes.map(\.id))
                model.catalog = c
                label = "apply"
            case 77..<80:
                clock.advance(Int64(below(800)))
                label = "clock"
            case 80..<88:
                let route = RouteID(UInt64(1 + below(routes))), op: Op? = [nil, .read, .write][below(3)]
                got = "\(sampler.hotKeys(route: route, op: op))"
                model.drain(now: clock.now)
                want = "\(model.hotKeys(route: route, op: op))"
                label = "hotKeys(\(route), \(String(describing: op)))"
            case 88..<92:
                let op: Op = below(2) == 0 ? .read : .write, limit = below(6)
                got = "\(sampler.hottestKeys(op: op, limit: limit))"
                model.drain(now: clock.now)
                want = "\(model.hottestKeys(op: op, limit: limit))"
                label = "hottestKeys(\(op), \(limit))"
            case 92..<96:
                got = "\(sampler.trackedRoutes().map { "\($0.route)/\($0.op)/\($0.samples)" })"
                model.drain(now: clock.now)
                want = "\(model.trackedRoutes())"
                label = "trackedRoutes"
            default:
                let op: Op? = [nil, .read, .write][below(3)]
                got = "\(sampler.splitAdvice(op: op))"
                model.drain(now: clock.now)
                want = "\(Op.allCases.filter { op == nil || $0 == op }.flatMap { model.splitAdvice(op: $0) })"
                label = "splitAdvice(\(String(describing: op)))"
            }
            if got != want {
                Issue.record("seed \(seed), step \(step) \(label): sampler \(got), model \(want)")
                return
            }
        }
        #expect(sampler.sampleCounts.dropped == 0)
    }
}
