import KeyViz
@testable import KeyVizPrometheus
import KeyVizTestKit
import Testing

@Suite struct HotKeyCollectorTests {
    private func chain() -> (HotKeySampler<PrometheusSampler<HeatMatrixSampler>>, PrometheusSampler<HeatMatrixSampler>) {
        let prometheus = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(bucketBudget: 16))
        let hot = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: 1))
        hot.apply(.evenlySplit(count: 4, groups: 1))
        return (hot, prometheus)
    }

    @Test func theHottestKeysAreExportedByRankWithTheKeyInAnInfoSeries() throws {
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
            if format == .prometheusText { #expect(try promtoolComplaints(body) == nil) } else { #expect(try openMetricsParserComplaints(body) == nil) }
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
