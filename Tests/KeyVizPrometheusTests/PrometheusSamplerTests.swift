import Foundation
import KeyViz
@testable import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing

private typealias Decorator = PrometheusSampler<RecordingSampler>

private func bucketSeries(_ body: [UInt8], family: String = "keyviz_bucket_writes_total") -> [ParsedSample] {
    TestExposition.samples(body).filter { $0.name == family }
}

@Suite struct PrometheusSamplerTests {
    @Test func forwardsEveryCallUnchangedToTheInnerSampler() async {
        let inner = RecordingSampler()
        let p = PrometheusSampler(wrapping: inner)
        p.apply(RouteCatalog.evenlySplit(count: 4, groups: 1))
        await ConcurrentRunner.run((0..<2).map { t in
            { @Sendable in for i in 0..<1000 { p.observe(route: RouteID(t + 1), op: i % 3 == 0 ? .read : .write, keyLength: i, valueLength: -i) } }
        })
        let calls = inner.observations
        #expect(calls.count == 2000)
        for t in 0..<2 {
            let mine = calls.filter { $0.route == RouteID(t + 1) }
            let want: [RecordingSampler.Observation] = (0..<1000).map { (i: Int) -> RecordingSampler.Observation in
                RecordingSampler.Observation(route: RouteID(t + 1), op: i % 3 == 0 ? Op.read : Op.write, keyLength: i, valueLength: -i)
            }
            #expect(mine == want)
        }
        #expect(inner.appliedCatalogs.count == 1)
    }

    @Test func countsAndBytesLandInTheRouteBucket() {
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 256))
        p.apply(RouteCatalog.evenlySplit(count: 4, groups: 1))
        p.observe(route: 2, op: .write, keyLength: 10, valueLength: 90)
        p.observe(route: 2, op: .read, keyLength: 10, valueLength: 0)
        let totals = p.bucketTotals()
        let label = p.currentLayout().buckets[1].label
        #expect(totals[label] == OpCounts(reads: 1, writes: 1, readBytes: 10, writeBytes: 100))
        #expect(totals.values.reduce(OpCounts(), +) == OpCounts(reads: 1, writes: 1, readBytes: 10, writeBytes: 100))
    }

    @Test func knownSeriesAreExportedAtZeroFromTheFirstScrape() {
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(hotRoutes: 3))
        let samples = TestExposition.samples(p.render(format: .prometheusText))
        for op in ["read", "write"] {
            #expect(samples.contains { $0.name == "keyviz_unrouted_total" && $0.labels["op"] == op && $0.value == "0" })
            for rank in 1...3 {
                #expect(samples.contains { $0.name == "keyviz_hot_route_ops_per_second" && $0.labels == ["op": op, "rank": "\(rank)"] && $0.value == "0" })
                #expect(samples.contains { $0.name == "keyviz_hot_route_share" && $0.labels == ["op": op, "rank": "\(rank)"] })
            }
        }
        #expect(samples.filter { $0.name == "keyviz_hot_route_info" }.count == 6)
        #expect(samples.contains { $0.name == "process_resident_memory_bytes" && $0.number > 0 })
    }

    @Test func unknownRoutesAreExportedAsUnrouted() {
        let p = PrometheusSampler(wrapping: NoopSampler())
        p.apply(RouteCatalog.evenlySplit(count: 2, groups: 1))
        p.observe(route: .unrouted, op: .write, keyLength: 3, valueLength: 4)
        p.observe(route: 77, op: .read, keyLength: 5, valueLength: 0)
        let samples = TestExposition.samples(p.render(format: .prometheusText))
        #expect(samples.first { $0.name == "keyviz_unrouted_total" && $0.labels["op"] == "write" }?.value == "1")
        #expect(samples.first { $0.name == "keyviz_unrouted_bytes_total" && $0.labels["op"] == "write" }?.value == "7")
        #expect(samples.first { $0.name == "keyviz_unrouted_total" && $0.labels["op"] == "read" }?.value == "1")
    }

    @Test func theHottestRouteIsRankedFirstWithItsShareAndKeyRange() {
        let clock = ManualClock()
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(hotRoutes: 2, hotRouteWindowMilliseconds: 60_000, now: clock.function))
        let c = RouteCatalog.evenlySplit(count: 10, groups: 1)
        p.apply(c)
        clock.advance(10_000)
        for _ in 0..<800 { p.observe(route: 7, op: .write, keyLength: 1, valueLength: 1) }
        for _ in 0..<200 { p.observe(route: 3, op: .write, keyLength: 1, valueLength: 1) }
        let samples = TestExposition.samples(p.render(format: .prometheusText))
        let share1 = samples.first { $0.name == "keyviz_hot_route_share" && $0.labels == ["op": "write", "rank": "1"] }
        #expect(share1?.number == 0.8)
        let rate1 = samples.first { $0.name == "keyviz_hot_route_ops_per_second" && $0.labels == ["op": "write", "rank": "1"] }
        #expect(rate1?.number == 80)   // 800 ops over the 10 s the window covers so far
        #expect(samples.first { $0.name == "keyviz_hot_route_id" && $0.labels == ["op": "write", "rank": "1"] }?.value == "7")
        #expect(samples.first { $0.name == "keyviz_hot_route_id" && $0.labels == ["op": "write", "rank": "2"] }?.value == "3")
        #expect(samples.first { $0.name == "keyviz_hot_route_id" && $0.labels == ["op": "read", "rank": "1"] }?.value == "-1")
        let info1 = samples.first { $0.name == "keyviz_hot_route_info" && $0.labels["op"] == "write" && $0.labels["rank"] == "1" }
        let layout = p.currentLayout()
        #expect(info1?.labels["bucket"] == layout.buckets[layout.bucketIndex(forKey: c.route(id: 7)!.start)].label)
        // Traffic older than two windows no longer counts (the sliding-window estimate blends
        // the current fixed window with the previous one).
        clock.advance(130_000)
        let later = TestExposition.samples(p.render(format: .prometheusText))
        #expect(later.first { $0.name == "keyviz_hot_route_share" && $0.labels == ["op": "write", "rank": "1"] }?.number == 0)
    }

    @Test func twoDecoratorsOnTheSameCatalogRenderTheSameLabels() throws {
        let c = RouteCatalog.evenlySplit(count: 5000, groups: 4)
        let a = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 128))
        let b = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 128))
        a.apply(c)
        // b learns the catalog through a different history and sees different traffic.
        b.apply(RouteCatalog.evenlySplit(count: 17, groups: 1))
        _ = b.render(format: .prometheusText)
        b.apply(try RouteCatalog(routes: c.routes.reversed()))
        for i in 0..<5000 where i % 7 == 0 { b.observe(route: RouteID(i + 1), op: .write, keyLength: i, valueLength: 0) }
        let la = bucketSeries(a.render(format: .prometheusText)).map(\.labels)
        let lb = bucketSeries(b.render(format: .prometheusText)).map(\.labels)
        #expect(la == lb)
        #expect(la.count <= 128 && la.count > 1)
    }

    @Test func aRetiredLabelContinuesFromItsValueWhenItReturns() throws {
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 256))
        let base = try RouteCatalog(routes: [
            Route(id: 1, start: [], end: Array("m".utf8), group: 1),
            Route(id: 2, start: Array("m".utf8), end: [], group: 1),
        ])
        p.apply(base)
        for _ in 0..<5 { p.observe(route: 2, op: .write, keyLength: 1, valueLength: 0) }
        #expect(p.bucketTotals()["m"]?.writes == 5)
        _ = p.render(format: .prometheusText)               // "m" exported at 5
        let merged = try base.merging(1, 2)                 // "m" is no longer a route start
        p.apply(merged)
        #expect(p.bucketTotals()["m"] == nil)
        let split = try merged.splitting(merged.routes[0].id, at: Array("m".utf8))   // "m" is back
        p.apply(split)
        p.observe(route: split.routes[1].id, op: .write, keyLength: 1, valueLength: 0)
        #expect(p.bucketTotals()["m"]?.writes == 6)
    }

    @Test func retiredLabelMemoryIsBounded() {
        var counters = BucketCounters(retiredCapacity: 10)
        for round in 0..<100 {
            counters.relabel((0..<5).map { "r\(round)-\($0)" }, home: { _ in 0 }, oldStart: { _ in [] }, oldHash: { _ in 0 })
        }
        #expect(counters.retiredCount == 10)
        #expect(counters.labels.count == 5)
    }

    @Test(arguments: [(10, 256), (4096, 4096), (20_000, 4096), (3000, 7)])
    func renderedOutputIsPromtoolCleanAndWithinBudget(routes: Int, budget: Int) async throws {
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: budget))
        let c = RouteCatalog.evenlySplit(count: routes, groups: 8)
        p.apply(c)
        for r in c.routes { p.observe(route: r.id, op: .write, keyLength: 8, valueLength: Int(r.id.rawValue % 100)) }
        let text = p.render(format: .prometheusText)
        await #expect(try promtoolComplaints(text) == nil)
        await #expect(try openMetricsParserComplaints(p.render(format: .openMetrics)) == nil)
        for family in ["keyviz_bucket_reads_total", "keyviz_bucket_writes_total", "keyviz_bucket_read_bytes_total", "keyviz_bucket_write_bytes_total", "keyviz_bucket_info"] {
            let n = bucketSeries(text, family: family).count
            #expect(n <= budget && n == min(routes, budget) || n < min(routes, budget), "\(family): \(n)")
            #expect(n >= 1)
        }
    }

    @Test func awkwardKeysRenderCleanInBothFormats() async throws {
        let p = PrometheusSampler(wrapping: NoopSampler())
        let keys: [[UInt8]] = [Array("a\"quote".utf8), Array("b\\back".utf8), Array("c\nnewline".utf8), [0xc3, 0x28, 0xff], Array("~tilde".utf8), Array(String(repeating: "z", count: 100).utf8)].sorted { $0.lexicographicallyPrecedes($1) }
        var routes = [Route(id: 1, start: [], end: keys[0], group: 1)]
        for (i, k) in keys.enumerated() {
            routes.append(Route(id: RouteID(i + 2), start: k, end: i + 1 < keys.count ? keys[i + 1] : [], group: 1))
        }
        p.apply(try RouteCatalog(routes: routes))
        for r in routes { p.observe(route: r.id, op: .read, keyLength: 1, valueLength: 0) }
        let text = p.render(format: .prometheusText)
        await #expect(try promtoolComplaints(text) == nil)
        await #expect(try openMetricsParserComplaints(p.render(format: .openMetrics)) == nil)
        let labels = bucketSeries(text, family: "keyviz_bucket_reads_total").compactMap { $0.labels["bucket"] }
        #expect(labels.count == 7 && Set(labels).count == 7)
        #expect(labels.allSatisfy { $0.count <= 32 })
    }

    @Test func openMetricsTypesCountersWithoutTheTotalSuffixAndEndsWithEOF() {
        let p = PrometheusSampler(wrapping: NoopSampler())
        p.apply(RouteCatalog.evenlySplit(count: 3, groups: 1))
        let om = String(decoding: p.render(format: .openMetrics), as: UTF8.self)
        #expect(om.hasSuffix("# EOF\n"))
        #expect(om.contains("# TYPE keyviz_bucket_writes counter\n"))
        #expect(om.contains("\nkeyviz_bucket_writes_total{bucket=\"(begin)\"} 0\n"))
        let text = String(decoding: p.render(format: .prometheusText), as: UTF8.self)
        #expect(text.contains("# TYPE keyviz_bucket_writes_total counter\n"))
        #expect(!text.contains("# EOF"))
    }

    @Test func hostCollectorsJoinTheOutputAndNameClashesAreLeftOut() throws {
        struct Host: MetricsCollector {
            func collect() -> [MetricFamily] {
                [try! MetricFamily(name: "host_queue_depth", help: "Depth.", type: .gauge, samples: [MetricSample(value: .integer(3))]),
                 try! MetricFamily(name: "keyviz_routes", help: "Clash.", type: .gauge, samples: [MetricSample(value: .integer(99))])]
            }
        }
        let p = PrometheusSampler(wrapping: NoopSampler())
        p.register(Host())
        let samples = TestExposition.samples(p.render(format: .prometheusText))
        #expect(samples.first { $0.name == "host_queue_depth" }?.value == "3")
        #expect(samples.filter { $0.name == "keyviz_routes" }.count == 1)
        #expect(samples.first { $0.name == "keyviz_routes" }?.value == "0")
        let again = TestExposition.samples(p.render(format: .prometheusText))
        #expect(again.first { $0.name == "keyviz_collector_conflicts_total" }?.number ?? 0 >= 1)
    }

    @Test func familiesRenderInSortedOrderEachWithOneHelpAndType() {
        let p = PrometheusSampler(wrapping: NoopSampler())
        p.apply(RouteCatalog.evenlySplit(count: 20, groups: 1))
        let lines = String(decoding: p.render(format: .prometheusText), as: UTF8.self).split(separator: "\n")
        let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(typed == typed.sorted())
        #expect(Set(typed).count == typed.count)
        #expect(lines.filter { $0.hasPrefix("# HELP ") }.count == typed.count)
    }

    /// Properties 1-3 and 7 under fire: thousands of catalog changes interleaved with
    /// observations from 2 threads and renders; every counter series is non-decreasing between
    /// consecutive renders, the bound holds at every render, and at the end the last value of
    /// every label ever exported plus unrouted equals exactly what was observed.
    @Test(arguments: [UInt64(7), 8])
    func countersStayMonotonicBoundedAndExactUnderChurn(seed: UInt64) async throws {
        let budget = 32
        let inner = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1, historyColumns: 10))
        let p = PrometheusSampler(wrapping: inner, configuration: .init(bucketBudget: budget, graceMilliseconds: 1, retiredLabelCapacity: 100_000))
        let initial = RouteCatalog.evenlySplit(count: 200, groups: 4)
        p.apply(initial)
        let published = Mutex(initial)
        let expected = Mutex(OpCounts())
        let running = Atomic<Int>(2)
        let perThread = 300_000
        let observer: @Sendable (UInt64) -> Void = { s in
            var rng = SplitMix64(seed: s)
            var local = OpCounts()
            var ids = published.withLock { $0.routes.map(\.id) }
            for i in 0..<perThread {
                if i % 256 == 0 { ids = published.withLock { $0.routes.map(\.id) } }
                let x = rng.next()
                let route: RouteID = x & 127 == 0 ? 9_999_999 : ids[Int((x >> 8) % UInt64(ids.count))]
                let op: Op = (x >> 20) & 1 == 0 ? .read : .write
                let k = Int((x >> 24) % 32), v = op == .write ? Int((x >> 32) % 200) : 0
                p.observe(route: route, op: op, keyLength: k, valueLength: v)
                local.record(op: op, bytes: UInt64(k + v))
            }
            expected.withLock { $0 += local }
            running.wrappingAdd(-1, ordering: .relaxed)
        }
        let renders = Mutex<[[ParsedSample]]>([])
        let changes = Atomic<Int>(0)
        let churn: @Sendable () -> Void = {
            var rng = SplitMix64(seed: seed)
            var c = initial
            var n = 0
            while running.load(ordering: .relaxed) > 0 || n < 3000 {
                let x = rng.next()
                if (x & 1 == 0 && c.routes.count < 400) || c.routes.count < 50 {
                    let key = Array("key/\(format8(Int((x >> 8) % 100_000_000)))".utf8)
                    if let r = c.route(forKey: key), r.start != key { c = try! c.splitting(r.id, at: key) }
                } else {
                    let i = Int((x >> 8) % UInt64(c.routes.count - 1))
                    c = try! c.merging(c.routes[i].id, c.routes[i + 1].id)
                }
                p.apply(c)
                published.withLock { $0 = c }
                n += 1
                if n % 20 == 0 {
                    let body = p.render(format: n % 40 == 0 ? .openMetrics : .prometheusText)
                    renders.withLock { $0.append(TestExposition.samples(body)) }
                }
            }
            changes.store(n, ordering: .relaxed)
        }
        await ConcurrentRunner.run([{ observer(seed * 100) }, { observer(seed * 100 + 1) }, churn])
        let final = TestExposition.samples(p.render(format: .prometheusText))
        let all = renders.withLock { $0 } + [final]
        #expect(changes.load(ordering: .relaxed) >= 3000)
        #expect(all.count > 100)

        var last: [String: Double] = [:]
        var lastByLabel: [String: [String: UInt64]] = [:]
        var decreases = 0, overBudget = 0
        for render in all {
            var perFamily: [String: Int] = [:]
            for s in render where s.name.hasSuffix("_total") {
                if let prev = last[s.key], s.number < prev { decreases += 1 }
                last[s.key] = s.number
                if s.name.hasPrefix("keyviz_bucket_") {
                    perFamily[s.name, default: 0] += 1
                    lastByLabel[s.name, default: [:]][s.labels["bucket"]!] = UInt64(s.value)!
                }
            }
            overBudget += perFamily.values.filter { $0 > budget }.count
        }
        #expect(decreases == 0)
        #expect(overBudget == 0)
        let want = expected.withLock { $0 }
        func unrouted(_ name: String, _ op: String) -> UInt64 { UInt64(final.first { $0.name == name && $0.labels["op"] == op }!.value)! }
        func sum(_ family: String) -> UInt64 { lastByLabel[family, default: [:]].values.reduce(0, +) }
        #expect(sum("keyviz_bucket_reads_total") + unrouted("keyviz_unrouted_total", "read") == want.reads)
        #expect(sum("keyviz_bucket_writes_total") + unrouted("keyviz_unrouted_total", "write") == want.writes)
        #expect(sum("keyviz_bucket_read_bytes_total") + unrouted("keyviz_unrouted_bytes_total", "read") == want.readBytes)
        #expect(sum("keyviz_bucket_write_bytes_total") + unrouted("keyviz_unrouted_bytes_total", "write") == want.writeBytes)
        // The wrapped heat matrix saw the same traffic.
        inner.flush()
        #expect(inner.flushedTotals.routed + inner.flushedTotals.unrouted == want)
    }
}

@Suite struct UnscrapedChurnTests {
    @Test func routeChurnWithoutScrapesKeepsRetiredRoutesBounded() throws {
        let clock = ManualClock()
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(graceMilliseconds: 1_000, processMetrics: false, now: clock.function))
        var c = RouteCatalog.evenlySplit(count: 100, groups: 1)
        p.apply(c)
        for i in 0..<5000 {
            let r = c.routes[i % c.routes.count]
            p.observe(route: r.id, op: .write, keyLength: 1, valueLength: 1)
            // Split then merge back: two routes retired per pair of changes.
            if let mid = Optional(Array(r.start) + [0x30]), r.end.isEmpty || mid.lexicographicallyPrecedes(r.end) {
                c = try c.splitting(r.id, at: mid)
                p.apply(c)
                let i2 = try #require(c.index(ofRoute: c.routes.first { $0.start == r.start }!.id))
                c = try c.merging(c.routes[i2].id, c.routes[i2 + 1].id)
                p.apply(c)
            }
            clock.advance(10)
        }
        // 10 000 catalog changes retired ~15 000 routes, none scraped: the sampler folded by
        // itself, so no more than its threshold are kept, and no observation was lost.
        #expect(p.retiredRouteCount <= 1025)
        #expect(p.unroutedTotals().writes == 0)
        #expect(p.bucketTotals().values.reduce(0) { $0 + $1.writes } == 5000)
    }
}
