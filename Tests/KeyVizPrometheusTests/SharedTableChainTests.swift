import KeyViz
import Logging
import Synchronization
@testable import KeyVizPrometheus
import KeyVizTestKit
import Testing

/// A decorator over the heat matrix reads the matrix's counter table instead of counting again,
/// and both readers still see every observation exactly once; a render's cost follows what was
/// touched.
@Suite struct SharedTableChainTests {
    @Test func overTheHeatMatrixTheDecoratorCountsNothingItselfAndStillSeesEveryObservation() {
        let clock = ManualClock()
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let p = PrometheusSampler(wrapping: HotKeySampler(wrapping: m), configuration: .init(processMetrics: false, now: clock.function))
        #expect(!p.countsOwn, "one table per chain: the matrix below counts every observation")
        #expect(PrometheusSampler(wrapping: RecordingSampler()).countsOwn, "a sampler that keeps no table: the decorator counts")
        p.apply(RouteCatalog.evenlySplit(count: 8, groups: 2))
        // Renders and flushes in both orders, several of one between two of the other.
        for round in 0..<6 {
            for i in 0..<(round + 1) * 10 { p.observe(route: RouteID(i % 8 + 1), op: i % 2 == 0 ? .read : .write, keyLength: 3, valueLength: 4) }
            if round % 2 == 0 { _ = p.render(format: .prometheusText) }
            if round % 3 == 0 { m.flush() }
        }
        m.flush()
        let observed = UInt64((1...6).reduce(0) { $0 + $1 * 10 })
        let buckets = p.bucketTotals().values.reduce(OpCounts(), +)
        #expect(buckets.operations == observed)
        #expect(buckets.readBytes + buckets.writeBytes == observed * 7)
        #expect(m.flushedTotals.routed.operations == observed)
        #expect(m.flushedTotals.routed == buckets)
    }

    @Test func aRenderFoldsOnlyTheRoutesTouchedSinceTheLastOneAndRanksOnlyActiveRoutes() {
        let clock = ManualClock()
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let p = PrometheusSampler(wrapping: m, configuration: .init(hotRouteWindowMilliseconds: 10_000, processMetrics: false, now: clock.function))
        let catalog = RouteCatalog.evenlySplit(count: 20_000, groups: 4)
        p.apply(catalog)
        for r in catalog.routes { p.observe(route: r.id, op: .read, keyLength: 1, valueLength: 1) }
        for _ in 0..<100 { for id in 1...5 as ClosedRange<UInt64> { p.observe(route: RouteID(id), op: .read, keyLength: 1, valueLength: 1) } }
        let first = p.render(format: .prometheusText)
        #expect(p.hotRouteCandidates <= 10, "20 000 active routes, 5 far above the rest: only those are ranked")
        let reads = TestExposition.samples(first).filter { $0.name == "keyviz_hot_route_id" && $0.labels["op"] == "read" }
        #expect(Set(reads.map(\.number)) == [1, 2, 3, 4, 5])
        clock.advance(30_000)           // two windows later every route is idle
        let visitsBefore = p.slotsVisited
        for id in [5, 9_000, 19_999] as [RouteID] { p.observe(route: id, op: .write, keyLength: 1, valueLength: 1) }
        let body = p.render(format: .prometheusText)
        #expect(p.slotsVisited - visitsBefore == 3)
        #expect(p.hotRouteCandidates == 3, "ranking looks at routes with traffic in the window only")
        let ids = TestExposition.samples(body).filter { $0.name == "keyviz_hot_route_id" && $0.labels["op"] == "write" }
        #expect(Set(ids.prefix(3).map(\.number)) == [5, 9_000, 19_999])
    }
}

/// The decorator logs through the Logger a host passes: layout changes at debug, a collector
/// whose family name is taken once per name at warning.
@Suite struct PrometheusSamplerLoggingTests {
    private struct Clashing: MetricsCollector {
        func collect() -> [MetricFamily] {
            [MetricFamily(unchecked: "keyviz_routes", help: "A host family with a taken name.", type: .gauge, samples: [MetricSample(value: .integer(1))])]
        }
    }

    @Test func layoutChangesAndNameConflictsAreLoggedOnce() {
        let log = CapturedLog()
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 4, processMetrics: false), logger: log.logger)
        p.register(Clashing())
        p.apply(RouteCatalog.evenlySplit(count: 64, groups: 1))
        for _ in 0..<3 { _ = p.render(format: .prometheusText) }
        p.apply(RouteCatalog.evenlySplit(count: 3, groups: 1, prefix: "other/"))
        _ = p.render(format: .prometheusText)
        #expect(p.layoutChangeCount == 1)
        let lines = log.lines.withLock { $0 }
        #expect(lines.filter { $0 == "warning a collector's family is left out: its name is already taken" }.count == 1, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("debug bucket layout changed") }.count == 1, "\(lines)")
    }
}

/// A decorator that goes away stops reading the matrix's table.
@Suite struct DroppedDecoratorTests {
    @Test func aDroppedDecoratorNeitherKeepsDeltasNorHoldsBackSlotRecycling() throws {
        let clock = ManualClock()
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, graceMilliseconds: 10, now: clock.function))
        let kept = PrometheusSampler(wrapping: m, configuration: .init(graceMilliseconds: 10, processMetrics: false, now: clock.function))
        var dropped: PrometheusSampler<HeatMatrixSampler>? = PrometheusSampler(wrapping: m, configuration: .init(processMetrics: false))
        #expect(m.sharedRouteSlots?.liveConsumerCount == 3)
        dropped = nil
        #expect(dropped == nil)
        #expect(m.sharedRouteSlots?.liveConsumerCount == 2)
        // Churn: a route leaves, its grace passes, the readers still alive collect, a new route
        // arrives. It reuses the freed slot: nothing waits for the dropped decorator.
        let first = RouteCatalog.evenlySplit(count: 4, groups: 1)
        kept.apply(first)
        kept.observe(route: 4, op: .write, keyLength: 1, valueLength: 1)
        let shrunk = try first.removing(4)
        kept.apply(shrunk)
        clock.advance(100)
        m.flush()
        _ = kept.render(format: .prometheusText)
        let slotsBefore = m.sharedRouteSlots!.slotCount
        kept.apply(try shrunk.adding(Route(id: 9, start: first.routes[3].start, end: [], group: 1)))
        #expect(m.sharedRouteSlots!.slotCount == slotsBefore, "the new route took the freed slot")
        #expect(m.flushedTotals.routed.writes == 1 && kept.bucketTotals().values.reduce(OpCounts(), +).writes == 1)
    }
}

/// A hot-key sampler reads the calling thread's stripe once and hands it to the samplers it
/// wraps: through that path every observation is still counted exactly once, whether the
/// decorator counts itself or shares the matrix's table.
@Suite struct CallingThreadChainTests {
    private static func observeFromThreads(_ s: some Sampler, routes: Int) async -> OpCounts {
        let total = Mutex(OpCounts())
        await ConcurrentRunner.run((0..<4).map { t in
            { @Sendable in
                var rng = SplitMix64(seed: UInt64(t) &+ 1)
                var local = OpCounts()
                for _ in 0..<5_000 {
                    let x = rng.next()
                    let op: Op = x & 1 == 0 ? .read : .write
                    let k = Int((x >> 8) % 20), v = Int((x >> 16) % 50)
                    s.observe(route: RouteID(1 + (x >> 32) % UInt64(routes)), op: op,
                              key: [UInt8](repeating: UInt8(truncatingIfNeeded: x), count: k), valueLength: v)
                    local.record(op: op, bytes: UInt64(k + v))
                }
                total.withLock { $0 += local }
            }
        })
        return total.withLock { $0 }
    }

    @Test func aDecoratorThatCountsItselfCountsEveryObservationPassedThroughAHotKeySampler() async {
        let p = PrometheusSampler(wrapping: RecordingSampler(), configuration: .init(processMetrics: false))
        #expect(p.countsOwn)
        let hot = HotKeySampler(wrapping: p, configuration: .init(sampleEvery: 2, windowMilliseconds: 0))
        hot.apply(RouteCatalog.evenlySplit(count: 16, groups: 2))
        let observed = await Self.observeFromThreads(hot, routes: 16)
        #expect(p.bucketTotals().values.reduce(OpCounts(), +) == observed)
        #expect(p.inner.observations.count == 20_000, "every call forwarded once")
    }

    @Test func theHeatMatrixUnderAHotKeySamplerCountsEveryObservation() async {
        let clock = ManualClock()
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let p = PrometheusSampler(wrapping: m, configuration: .init(processMetrics: false, now: clock.function))
        let hot = HotKeySampler(wrapping: p, configuration: .init(sampleEvery: 2, windowMilliseconds: 0))
        hot.apply(RouteCatalog.evenlySplit(count: 16, groups: 2))
        let observed = await Self.observeFromThreads(hot, routes: 16)
        m.flush()
        #expect(m.flushedTotals.routed == observed)
        #expect(p.bucketTotals().values.reduce(OpCounts(), +) == observed)
    }
}
