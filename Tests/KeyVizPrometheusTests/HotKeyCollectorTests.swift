import KeyViz
@testable import KeyVizPrometheus
import KeyVizTestKit
import Testing

@Suite struct HotKeyCollectorTests {
    private func chain() -> (HotKeySampler<PrometheusSampler<HeatMatrixSampler>>, PrometheusSampler<HeatMatrixSampler>) {
        let prometheus = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(bucketBudget: 16))
        let hot = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: 1, windowMilliseconds: 0))
        hot.apply(.evenlySplit(count: 4, groups: 1))
        return (hot, prometheus)
    }

    @Test func theHottestKeysAreExportedByRankWithTheKeyInAnInfoSeries() async throws {
        let (hot, prometheus) = chain()
        prometheus.register(HotKeyCollector(source: hot, ranks: 2))
        for (key, n) in [("key/00000001", 30), ("key/00000002", 20), ("key/00000003", 10)] {
            for _ in 0..<n { hot.observe(route: 1, op: .write, key: Array(key.utf8), valueLength: 4) }
        }
        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            let body = prometheus.render(format: format)
            let samples = TestExposition.samples(body)
            let info = samples.filter { $0.name == "keyviz_hot_key_info" }
            #expect(info.count == 2)   // at most `ranks` per op, and no read traffic
            #expect(info.contains { $0.labels == ["op": "write", "rank": "1", "key": "key/00000001", "truncated": "false"] })
            #expect(info.contains { $0.labels["rank"] == "2" && $0.labels["key"] == "key/00000002" })
            let share = samples.first { $0.name == "keyviz_hot_key_route_share" && $0.labels["rank"] == "1" }
            #expect(share?.number == 0.5)
            #expect(samples.first { $0.name == "keyviz_hot_key_operations" && $0.labels["rank"] == "1" }?.value == "30")
            #expect(samples.first { $0.name.hasPrefix("keyviz_hot_key_samples_total") }?.value == "60")
            if format == .prometheusText { await #expect(try promtoolComplaints(body) == nil) } else { await #expect(try openMetricsParserComplaints(body) == nil) }
        }
        // The bucket counters still count every observation: the hot-key decorator forwards.
        #expect(prometheus.render(format: .prometheusText).count > 0)
        #expect(TestExposition.samples(prometheus.render(format: .prometheusText))
            .filter { $0.name == "keyviz_bucket_writes_total" }.reduce(0) { $0 + $1.number } == 60)
    }

    @Test func hashedLabelModeKeepsKeyBytesOutOfPrometheus() throws {
        let (hot, prometheus) = chain()
        prometheus.register(HotKeyCollector(source: hot, ranks: 1, labelMode: .hashed))
        hot.observe(route: 1, op: .read, key: Array("secret-customer-42".utf8), valueLength: 0)
        let text = String(decoding: prometheus.render(format: .prometheusText), as: UTF8.self)
        #expect(!text.contains("secret"))
        let info = TestExposition.samples(text).first { $0.name == "keyviz_hot_key_info" }
        #expect(info?.labels["key"]?.count == 16)
    }
}

@Suite struct SplitAdviceCollectorTests {
    @Test func adviceIsExportedByOpAndRankWithItsKeyInAnInfoSeriesAndNoKeyBytesWhenHashed() async throws {
        for mode in [BucketLabelMode.keyPreview, .hashed] {
            let prometheus = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(bucketBudget: 16))
            let hot = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: 1, splitMinSamples: 16, windowMilliseconds: 0))
            let catalog = RouteCatalog.evenlySplit(count: 4, groups: 1)
            hot.apply(catalog)
            prometheus.register(SplitAdviceCollector(source: hot, ranks: 1, labelMode: mode))
            let r = catalog.routes[1]
            // 100 distinct keys evenly inside route 2: the advice splits near the 50th.
            for i in 0..<100 { hot.observe(route: r.id, op: .write, key: r.start + Array("/\(1000 + i)".utf8), valueLength: 1) }
            // Route 3 gets fewer writes (rank 2, left out by ranks: 1); no reads at all.
            for i in 0..<40 { hot.observe(route: catalog.routes[2].id, op: .write, key: catalog.routes[2].start + [UInt8(i)], valueLength: 1) }
            let advice = hot.splitAdvice(op: .write)
            #expect(advice.map(\.rank) == [1, 2] && advice[0].route == r.id && advice[0].verdict == .split)
            let body = prometheus.render(format: .prometheusText)
            await #expect(try promtoolComplaints(body) == nil)
            let samples = TestExposition.samples(body)
            let balance = samples.filter { $0.name == "keyviz_split_advice_balance" }
            #expect(balance.count == 1 && balance[0].labels == ["op": "write", "rank": "1"])
            #expect(abs(balance[0].number - advice[0].balance) < 1e-6 && balance[0].number >= 0.9)
            let info = samples.filter { $0.name == "keyviz_split_advice_info" }
            #expect(info.count == 1)
            #expect(info.first?.labels["route"] == String(r.id.rawValue) && info.first?.labels["verdict"] == "split")
            if mode == .hashed {
                #expect(info.first?.labels["key"]?.count == 16)
                #expect(!String(decoding: body, as: UTF8.self).contains("/10"))
            } else {
                #expect(info.first?.labels["key"] == BucketLabeler.infoPreview(advice[0].key))
            }
        }
    }
}
