import Foundation
import KeyViz
@testable import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing

/// One test per broken promise reported in issue 11 (items 1-7), each a minimal reproduction.
@Suite struct DecoratorPromiseTests {
    private static func twoRoutes() throws -> RouteCatalog {
        try RouteCatalog(routes: [
            Route(id: 1, start: [], end: Array("m".utf8), group: 1),
            Route(id: 2, start: Array("m".utf8), end: [], group: 1),
        ])
    }

    private static func exportedTotal(_ body: [UInt8], seen: inout [String: UInt64]) -> UInt64 {
        for s in TestExposition.samples(body) where s.name == "keyviz_bucket_writes_total" { seen[s.labels["bucket"]!] = UInt64(s.value)! }
        let unrouted = TestExposition.samples(body).first { $0.name == "keyviz_unrouted_total" && $0.labels["op"] == "write" }!
        return seen.values.reduce(0, +) + UInt64(unrouted.value)!
    }

    enum FoldPath: CaseIterable { case currentLayout, bucketTotals, unroutedTotals, routeChurnWithoutScrapes }

    /// Item 1: counts folded into a label between two renders used to vanish when the label
    /// retired before the next render (5 observed, 0 exported).
    @Test(arguments: FoldPath.allCases)
    func countsFoldedOutsideARenderAreExportedByTheNextRender(path: FoldPath) throws {
        let clock = ManualClock()
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false, now: clock.function))
        var c = try Self.twoRoutes()
        p.apply(c)
        var seen: [String: UInt64] = [:]
        #expect(Self.exportedTotal(p.render(format: .prometheusText), seen: &seen) == 0)
        for _ in 0..<5 { p.observe(route: 2, op: .write, keyLength: 1, valueLength: 0) }
        switch path {
        case .currentLayout: _ = p.currentLayout()
        case .bucketTotals: _ = p.bucketTotals()
        case .unroutedTotals: _ = p.unroutedTotals()
        case .routeChurnWithoutScrapes:
            // Over 1 024 retired routes waiting: apply(_:) folds by itself.
            for _ in 0..<600 {
                c = try c.splitting(c.routes[0].id, at: Array("c".utf8))
                p.apply(c)
                c = try c.merging(c.routes[0].id, c.routes[1].id)
                p.apply(c)
            }
            #expect(p.labelBookkeeping.live == 2)
        }
        p.apply(try c.merging(c.routes[0].id, c.routes[1].id))   // "m" leaves the layout
        let exported = Self.exportedTotal(p.render(format: .openMetrics), seen: &seen)
        #expect(exported == 5)
        #expect(seen["m"] == 0)            // "m" was never exported above 0, so it retires at 0
        #expect(seen["(begin)"] == 5)      // the unexported 5 moved to the bucket holding "m"
    }

    /// Item 2: labels that retire and return used to pile up in the retirement list (+373 MB
    /// over 2 000 flips) and eviction forgot a recently retired label before an older one.
    @Test func flappingLabelsKeepRetiredMemoryBoundedAndForgetTheOldestFirst() {
        var counters = BucketCounters(retiredCapacity: 3)
        func go(_ labels: [String]) { counters.relabel(labels, home: { _ in 0 }, oldStart: { _ in [] }, oldHash: { _ in 0 }) }
        go(["A"])
        counters.add(OpCounts(writes: 7), toBucket: 0)
        counters.markExported()
        go(["B"]); go(["C"]); go(["D"])           // retired, oldest first: A B C
        go(["A"])                                 // A back at 7; D retired: B C D
        #expect(counters.values == [OpCounts(writes: 7)])
        go(["E"])                                 // A retired again, B (the oldest) forgotten: C D A
        #expect(counters.retiredCount == 3)
        go(["A"])
        #expect(counters.values == [OpCounts(writes: 7)])   // A was retired last, so kept
        go(["B"])
        #expect(counters.values == [.zero])                 // B was forgotten

        for flip in 0..<20_000 { go([flip % 2 == 0 ? "X" : "Y", "Z\(flip % 5)"]) }
        #expect(counters.retiredCount <= 3)
        #expect(counters.retiredOrderLength <= 2 * counters.retiredCount + 64)
    }

    @Test func levelFlipsKeepLabelBookkeepingBoundedByTheLiveAndRetiredLabels() {
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 8, retiredLabelCapacity: 50, processMetrics: false))
        let small = RouteCatalog.evenlySplit(count: 40, groups: 1), large = RouteCatalog.evenlySplit(count: 400, groups: 1)
        var worst = 0
        for flip in 0..<2_000 {
            p.apply(flip % 2 == 0 ? large : small)
            _ = p.currentLayout()
            let b = p.labelBookkeeping
            #expect(b.retired <= 50)
            worst = max(worst, b.orderLength)
        }
        #expect(worst <= 2 * 50 + 64)
    }

    /// Item 3: two long keys whose truncated labels collide. The label used to follow key
    /// order among the current boundaries, so when the first key stopped being a boundary the
    /// second inherited its label and counted on from the first range's total.
    @Test func aLabelNeverMovesToAnotherKeyRange() throws {
        let (k1, k2) = (collidingKeys[0], collidingKeys[1])
        let (lo, hi) = k1.lexicographicallyPrecedes(k2) ? (k1, k2) : (k2, k1)
        #expect(BucketLabeler.label(forStart: lo, mode: .keyPreview) == BucketLabeler.label(forStart: hi, mode: .keyPreview))
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false))
        var c = try RouteCatalog(routes: [
            Route(id: 1, start: [], end: lo, group: 1),
            Route(id: 2, start: lo, end: hi, group: 1),
            Route(id: 3, start: hi, end: [], group: 1),
        ])
        p.apply(c)
        for _ in 0..<9 { p.observe(route: 2, op: .write, keyLength: 1, valueLength: 0) }
        _ = p.render(format: .prometheusText)
        let before = Dictionary(uniqueKeysWithValues: p.currentLayout().buckets.map { ($0.start, $0.label) })
        #expect(before[lo] != before[hi])
        c = try c.merging(1, 2)                        // `lo` is no longer a boundary
        p.apply(c)
        let after = p.currentLayout().buckets
        #expect(after.first { $0.start == hi }?.label == before[hi])
        #expect(!after.contains { $0.label == before[lo] })
        // And a key arriving after the first one retired does not take its label either.
        let q = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false))
        var d = try RouteCatalog(routes: [Route(id: 1, start: [], end: lo, group: 1), Route(id: 2, start: lo, end: [], group: 1)])
        q.apply(d)
        let loLabel = q.currentLayout().buckets[1].label
        d = try d.merging(1, 2)
        q.apply(d)
        _ = q.render(format: .prometheusText)
        d = try d.splitting(d.routes[0].id, at: hi)
        q.apply(d)
        #expect(q.currentLayout().buckets[1].label != loLabel)
    }

    @Test func aKeyKeepsItsRespellingAfterTheCollidingKeyIsForgotten() {
        let (k1, k2) = (collidingKeys[0], collidingKeys[1])
        let (lo, hi) = k1.lexicographicallyPrecedes(k2) ? (k1, k2) : (k2, k1)
        var counters = BucketCounters(retiredCapacity: 0)
        func layout(_ keys: [[UInt8]]) -> [String] {
            let labels = counters.assignLabels(starts: keys, hashes: keys.map { KeyHash.hash($0) }, mode: .keyPreview)
            counters.relabel(labels, home: { _ in 0 }, oldStart: { _ in lo }, oldHash: { _ in KeyHash.hash(lo) })
            return labels
        }
        let both = layout([lo, hi])
        #expect(both[0] != both[1])
        #expect(layout([hi]) == [both[1]])         // lo's label retires and, at capacity 0, is forgotten
        #expect(layout([hi]) == [both[1]])         // hi keeps its respelling although the first is free
        #expect(counters.rememberedMeanings == 1)
    }

    /// Item 4: previews hex-encoded whole keys before truncating (64 routes with 1 MB keys:
    /// 17.6 s for the first render, 1.4 s per scrape after).
    @Test func previewsReadOnlyTheirOwnLengthAndScrapesNeverRehashKeys() throws {
        var big = [UInt8](repeating: 0xab, count: 1 << 20)
        let label = BucketLabeler.label(forStart: big, hash: 42, mode: .keyPreview)
        big[1000] = 0x00                              // past the preview: same spelling for the same hash
        #expect(BucketLabeler.label(forStart: big, hash: 42, mode: .keyPreview) == label)
        #expect(label.count == 32)
        var routes: [Route] = []
        for i in 0..<64 {
            let start: [UInt8] = i == 0 ? [] : [UInt8(i)] + big
            let end: [UInt8] = i == 63 ? [] : [UInt8(i + 1)] + big
            routes.append(Route(id: RouteID(i + 1), start: start, end: end, group: 1))
        }
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(hotRoutes: 5, processMetrics: false))
        p.apply(try RouteCatalog(routes: routes))
        for r in routes { p.observe(route: r.id, op: .read, keyLength: 1, valueLength: 0) }
        _ = p.render(format: .prometheusText)
        let first = p.hashedKeyBytes
        let keyBytes = routes.reduce(0) { $0 + $1.start.count }
        let hotPreviewBytes = 10 * (big.count + 1) * 2
        #expect(first <= keyBytes + hotPreviewBytes)   // each start once, plus the hot routes' previews
        for r in routes { p.observe(route: r.id, op: .read, keyLength: 1, valueLength: 0) }
        _ = p.render(format: .openMetrics)
        _ = p.render(format: .prometheusText)
        #expect(p.hashedKeyBytes == first)                      // scrapes without a catalog change hash nothing
    }

    /// Item 4, second half: `apply(_:)` (so `RouteEngine.update`) waited behind a whole render.
    /// Now a render writes outside the lock: apply completes while a render is still writing.
    @Test func applyDoesNotWaitForARenderToFinishWriting() async throws {
        final class Blocking: MetricsCollector {
            let entered = Atomic<Bool>(false)
            let released = Atomic<Bool>(false)
            func collect() -> [MetricFamily] {
                entered.store(true, ordering: .releasing)
                let deadline = Date().addingTimeInterval(60)   // a deadlock guard, not a timing check
                while !released.load(ordering: .acquiring) && Date() < deadline { usleep(1_000) }
                return []
            }
        }
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false))
        p.apply(RouteCatalog.evenlySplit(count: 4, groups: 1))
        let collector = Blocking()
        p.register(collector)
        let appliedDuringRender = Atomic<Bool>(false)
        await ConcurrentRunner.run([
            { _ = p.render(format: .prometheusText) },
            {
                while !collector.entered.load(ordering: .acquiring) { usleep(100) }
                p.apply(RouteCatalog.evenlySplit(count: 8, groups: 1))
                appliedDuringRender.store(!collector.released.load(ordering: .acquiring), ordering: .relaxed)
                collector.released.store(true, ordering: .releasing)
            },
        ])
        let applied = appliedDuringRender.load(ordering: .relaxed)
        #expect(applied)
    }

    /// Item 5: about two tries per key give start keys with odd public hashes; 10 001 such
    /// routes collapse into one bucket at any budget. A secret layout seed defeats it.
    @Test func aSecretLayoutSeedDefeatsChosenKeys() throws {
        var keys: [[UInt8]] = []
        var n = 0
        while keys.count < 10_000 {
            let k = Array("tenant/\(format8(n))".utf8)
            n += 1
            if KeyHash.hash(k) & 1 == 1 { keys.append(k) }
        }
        let starts = [[UInt8]()] + keys
        let c = try RouteCatalog(routes: starts.enumerated().map { i, s in
            Route(id: RouteID(i + 1), start: s, end: i + 1 < starts.count ? starts[i + 1] : [], group: 1)
        })
        #expect(BucketLayout(catalog: c, budget: 256).buckets.count == 1)   // seed 0: the documented trade-off
        let seeded = BucketLayout(catalog: c, budget: 256, seed: 0x5eed_1234_abcd_0001)
        #expect(seeded.buckets.count >= 64 && seeded.buckets.count <= 256)
        // Same seed, same layout: nodes sharing the seed agree.
        #expect(BucketLayout(catalog: c, budget: 256, seed: 0x5eed_1234_abcd_0001) == seeded)
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false, layoutSeed: 0x5eed_1234_abcd_0001))
        p.apply(c)
        #expect(p.currentLayout().buckets.map(\.start) == seeded.buckets.map(\.start))
    }

    /// Item 7: `cfg.hotRoutes = 150` after init crashed the render (index out of range).
    @Test func configurationPropertiesSetAfterInitAreClampedWhereUsed() {
        var cfg = PrometheusSamplerConfiguration(processMetrics: false)
        cfg.hotRoutes = 150
        cfg.bucketBudget = 0
        cfg.hotRouteWindowMilliseconds = -5
        cfg.graceMilliseconds = -1
        cfg.retiredLabelCapacity = -3
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: cfg)
        p.apply(RouteCatalog.evenlySplit(count: 300, groups: 1))
        for i in 1...300 { p.observe(route: RouteID(i), op: .write, keyLength: 1, valueLength: 1) }
        let samples = TestExposition.samples(p.render(format: .prometheusText))
        #expect(samples.filter { $0.name == "keyviz_hot_route_info" && $0.labels["op"] == "write" }.count == 100)
        #expect(samples.first { $0.name == "keyviz_bucket_budget" }?.value == "1")
        #expect(samples.filter { $0.name == "keyviz_bucket_writes_total" }.count == 1)
        cfg.hotRoutes = -4
        cfg.bucketBudget = 1_000_000
        let q = PrometheusSampler(wrapping: NoopSampler(), configuration: cfg)
        q.apply(RouteCatalog.evenlySplit(count: 5000, groups: 1))
        let more = TestExposition.samples(q.render(format: .openMetrics))
        #expect(more.filter { $0.name == "keyviz_hot_route_info" }.isEmpty)
        #expect(more.first { $0.name == "keyviz_bucket_budget" }?.value == "4096")
    }
}
