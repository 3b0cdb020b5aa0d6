import KeyViz
import KeyVizTestKit
import Synchronization
import Testing

private func k(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct SpaceSavingSketchTests {
    @Test func boundsHoldAndHeavyItemsAreAlwaysTracked() {
        var sketch = SpaceSavingSketch<Int>(capacity: 8)
        var truth: [Int: UInt64] = [:]
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            // Items 0 and 1 take ~30% each; 2…999 share the rest.
            let x = rng.next() % 10
            let item = x < 3 ? 0 : x < 6 ? 1 : Int(2 + rng.next() % 998)
            truth[item, default: 0] += 1
            sketch.add(item)
        }
        #expect(sketch.total == 20_000)
        #expect(sketch.entries.reduce(0) { $0 + $1.count } == 20_000)
        for e in sketch.entries {
            let t = truth[e.item] ?? 0
            #expect(e.count >= t && e.count - e.error <= t, "item \(e.item): true \(t), count \(e.count), error \(e.error)")
        }
        #expect(Set(sketch.top(2).map(\.item)) == [0, 1])
    }

    @Test func removeAndHalveKeepTheIndexConsistent() {
        var sketch = SpaceSavingSketch<String>(capacity: 3)
        for (item, n) in [("a", 5), ("b", 3), ("c", 1)] { for _ in 0..<n { sketch.add(item) } }
        sketch.remove("a")
        sketch.add("b")
        #expect(sketch.top(3).map(\.item) == ["b", "c"])
        sketch.halve()
        #expect(sketch.top(3).map(\.item) == ["b"])   // c (1) halves to 0 and leaves
        #expect(sketch.top(1).first?.count == 2)
    }
}

@Suite struct HotKeySamplerTests {
    private func catalog(_ n: Int) -> RouteCatalog { .evenlySplit(count: n, groups: 1) }

    @Test func everyObservationAndCatalogReachesTheInnerSampler() {
        let inner = RecordingSampler()
        let s = HotKeySampler(wrapping: inner, configuration: .init(sampleEvery: 2, windowMilliseconds: 0))
        s.apply(catalog(2))
        s.observe(route: 1, op: .write, key: k("abc"), valueLength: 5)
        s.observe(route: 2, op: .read, keyLength: 7, valueLength: 0)
        #expect(inner.observations == [.init(route: 1, op: .write, keyLength: 3, valueLength: 5),
                                       .init(route: 2, op: .read, keyLength: 7, valueLength: 0)])
        #expect(inner.observedKeys == [k("abc")])
        #expect(inner.appliedCatalogs == [catalog(2)])
    }

    @Test func oneKeyCarryingObservationInRPerThreadIsSampled() {
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: .init(sampleEvery: 16, queueCapacity: 65_536, windowMilliseconds: 0))
        for i in 0..<16_000 { s.observe(route: 1, op: .write, key: k("key/\(i % 7)"), valueLength: 0) }
        for _ in 0..<100 { s.observe(route: 1, op: .read, keyLength: 3, valueLength: 0) }   // no key: never sampled
        s.drain()
        #expect(s.sampleCounts.taken == 1_000)
        #expect(s.sampleCounts.dropped == 0)
    }

    /// Zipf(1) over 1 000 keys on one route, R = 16: the sketch's bounds hold against the exact
    /// sampled counts, and the estimated shares match the true shares of all traffic.
    @Test func topKeysOfAZipfWorkloadMatchExactCountsWithinTheStatedError() {
        let r = 16
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: .init(sampleEvery: r, topKeys: 10, queueCapacity: 65_536, windowMilliseconds: 0))
        // Zipf(1) by inverse CDF over 1 000 ranks.
        let n = 1_000
        var cdf: [Double] = []
        var acc = 0.0
        for i in 1...n { acc += 1.0 / Double(i); cdf.append(acc) }
        var rng = SplitMix64(seed: 11)
        var truth = [UInt64](repeating: 0, count: n)
        var sampled = [UInt64](repeating: 0, count: n)
        let total = 200_000
        for i in 0..<total {
            let u = Double(rng.next() >> 11) / Double(1 << 53) * acc
            var lo = 0, hi = n - 1
            while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < u { lo = mid + 1 } else { hi = mid } }
            truth[lo] += 1
            if (i + 1) % r == 0 { sampled[lo] += 1 }   // one thread: exactly every R-th is sampled
            s.observe(route: 1, op: .write, key: k("key/\(lo)"), valueLength: 0)
        }
        let hot = s.hotKeys(route: 1, op: .write)
        #expect(hot.count == 10)
        let trueTop = Set(truth.indices.sorted { truth[$0] > truth[$1] }.prefix(10).map { k("key/\($0)") })
        let recall = Double(hot.filter { trueTop.contains($0.key) }.count) / 10
        #expect(recall >= 0.9, "recall of the true top 10: \(recall)")
        for h in hot {
            let rank = Int(String(decoding: h.key.dropFirst(4), as: UTF8.self))!
            #expect(h.sampledCount >= sampled[rank] && h.sampledCount - h.sampledError <= sampled[rank])
            let trueShare = Double(truth[rank]) / Double(total)
            #expect(abs(h.share - trueShare) <= h.shareErrorBound + 0.01,
                    "key/\(rank): estimated share \(h.share), true \(trueShare), bound \(h.shareErrorBound)")
            #expect(h.estimatedOperations == h.sampledCount * UInt64(r))
        }
    }

    @Test func longKeysAreCutAtTheCapAndMarked() {
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: .init(sampleEvery: 1, maxKeyBytes: 8, windowMilliseconds: 0))
        let long = [UInt8](repeating: 0xff, count: 1_000_000)
        s.observe(route: 1, op: .read, key: long, valueLength: 0)
        s.observe(route: 1, op: .read, key: [], valueLength: 0)
        let hot = s.hotKeys(route: 1)
        #expect(hot.contains { $0.key == [UInt8](repeating: 0xff, count: 8) && $0.truncated })
        #expect(hot.contains { $0.key.isEmpty && !$0.truncated })
    }

    @Test func aFullQueueDropsAndCountsSamples() {
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: .init(sampleEvery: 1, queueCapacity: 4, windowMilliseconds: 0))
        for i in 0..<10 { s.observe(route: 1, op: .write, key: k("k\(i)"), valueLength: 0) }
        s.drain()
        #expect(s.sampleCounts == (taken: 4, dropped: 6))
    }

    @Test func onlyTheHottestRoutesKeepASketch() {
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: .init(sampleEvery: 1, trackedRoutes: 2, queueCapacity: 65_536, windowMilliseconds: 0))
        s.apply(catalog(5))
        for route in (1...5).map(RouteID.init) {
            for _ in 0..<(Int(route.rawValue) * 100) { s.observe(route: route, op: .write, key: k("r\(route)"), valueLength: 0) }
        }
        let tracked = s.trackedRoutes()
        #expect(tracked.count == 2)
        #expect(tracked.map(\.route) == [5, 4])
        #expect(s.hotKeys(route: 1).isEmpty)
        #expect(s.hotKeys(route: 5).first?.key == k("r5"))
    }

    @Test func routesThatLeaveTheCatalogLoseTheirSketch() throws {
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: .init(sampleEvery: 1, windowMilliseconds: 0))
        s.apply(catalog(2))
        s.observe(route: 2, op: .write, key: k("x"), valueLength: 0)
        #expect(!s.hotKeys(route: 2).isEmpty)
        s.apply(try catalog(2).merging(1, 2))
        #expect(s.hotKeys(route: 2).isEmpty)
    }

    @Test func countsHalveEveryWindow() {
        let clock = ManualClock()
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: .init(sampleEvery: 1, windowMilliseconds: 1_000, now: clock.function))
        for _ in 0..<8 { s.observe(route: 1, op: .read, key: k("a"), valueLength: 0) }
        #expect(s.hotKeys(route: 1).first?.sampledCount == 8)
        clock.advance(1_000)
        #expect(s.hotKeys(route: 1).first?.sampledCount == 4)
    }

    @Test func outOfRangeSettingsAreClampedNotFatal() {
        var cfg = HotKeySamplerConfiguration(sampleEvery: 0, topKeys: -3, sketchCapacity: -1, trackedRoutes: 0,
                                             maxKeyBytes: 0, queueCapacity: 0, windowMilliseconds: -5)
        cfg.sampleEvery = Int.min
        let s = HotKeySampler(wrapping: NoopSampler(), configuration: cfg)
        for _ in 0..<10 { s.observe(route: .unrouted, op: .write, key: k("abc"), valueLength: -1) }
        #expect(s.hotKeys(route: .unrouted).count == 1)
        #expect(s.hotKeys(route: .unrouted).first?.key == k("a"))
    }

    @Test func manyThreadsLoseNoForwardedObservation() async {
        let inner = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000))
        let s = HotKeySampler(wrapping: inner, configuration: .init(sampleEvery: 4, windowMilliseconds: 0))
        s.apply(catalog(4))
        let per = 50_000
        let body: @Sendable (Int) -> Void = { t in
            for i in 0..<per { s.observe(route: RouteID(i % 4 + 1), op: .write, key: k("t\(t)/\(i % 50)"), valueLength: 1) }
        }
        await ConcurrentRunner.run([{ body(1) }, { body(2) }, { body(3) }])
        inner.flush()
        #expect(inner.flushedTotals.routed.writes == UInt64(3 * per))
        s.drain()
        let counts = s.sampleCounts
        // Threads that share a stripe race on its countdown (a plain load and store, by design:
        // no locked add on the hot path), so the rate is about 1 in R, not exactly.
        let sampled = counts.taken + counts.dropped
        #expect(sampled >= UInt64(3 * per / 4 / 2) && sampled <= UInt64(3 * per / 4 * 2), "\(sampled) samples of \(3 * per) at R = 4")
    }
}
