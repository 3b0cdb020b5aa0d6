import CoreMetrics
import KeyViz
import KeyVizMetrics
import KeyVizPrometheus
import KeyVizTestKit
import Testing

/// A host's swift-metrics on KeyViz's /metrics: one exposition, both formats, promtool clean.
@Suite struct KeyVizMetricsFactoryTests {
    private func render(_ factory: KeyVizMetricsFactory, _ format: ExpositionFormat) -> String {
        let prometheus = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 4))
        prometheus.register(factory)
        return String(decoding: prometheus.render(format: format), as: UTF8.self)
    }

    @Test func countersGaugesRecordersAndTimersRenderBesideKeyVizFamilies() async throws {
        let f = KeyVizMetricsFactory()
        Counter(label: "app.requests", dimensions: [("path", "/x")], factory: f).increment(by: 3)
        Counter(label: "app.requests", dimensions: [("path", "/x")], factory: f).increment()   // same series
        Counter(label: "app_errors_total", factory: f).increment(by: -5)                      // ignored
        FloatingPointCounter(label: "app-cost", factory: f).increment(by: 1.5)
        Meter(label: "app.queue", factory: f).set(7)
        Recorder(label: "app.size", aggregate: true, factory: f).record(0.3)
        Recorder(label: "app.last", aggregate: false, factory: f).record(42)
        Timer(label: "app.latency", factory: f).recordMilliseconds(20)
        let text = render(f, .prometheusText)
        #expect(text.contains("app_requests_total{path=\"/x\"} 4\n"))
        #expect(text.contains("app_errors_total 0\n"))
        #expect(text.contains("app_cost_total 1.5\n"))
        #expect(text.contains("app_queue 7\n"))
        #expect(text.contains("app_last 42\n"))
        #expect(text.contains("app_size_bucket{le=\"0.25\"} 0\n") && text.contains("app_size_bucket{le=\"0.5\"} 1\n"))
        #expect(text.contains("app_latency_bucket{le=\"0.025\"} 1\n") && text.contains("app_latency_count 1\n"))
        #expect(text.contains("# TYPE keyviz_bucket_reads_total counter"))   // KeyViz's own families, same body
        #expect(try await ToolRunner.promtoolComplaints(Array(text.utf8)) == nil)
        let om = render(f, .openMetrics)
        #expect(om.contains("# TYPE app_requests counter\n") && om.hasSuffix("# EOF\n"))
    }

    @Test func aRecorderOfSizesGetsTheBoundsGivenForItsLabel() {
        let f = KeyVizMetricsFactory(histogramBucketsByLabel: ["app.bytes": [1_024, 100, 100, .infinity]])
        for size in [50, 500, 5_000] { Recorder(label: "app.bytes", aggregate: true, factory: f).record(size) }
        Recorder(label: "app.seconds", aggregate: true, factory: f).record(0.3)
        let text = render(f, .prometheusText)
        #expect(text.contains("app_bytes_bucket{le=\"100.0\"} 1\n") && text.contains("app_bytes_bucket{le=\"1024.0\"} 2\n")
                && text.contains("app_bytes_bucket{le=\"+Inf\"} 3\n"), "\(text)")
        #expect(!text.contains("app_bytes_bucket{le=\"0.5\"}"), "\(text)")
        #expect(text.contains("app_seconds_bucket{le=\"0.5\"} 1\n"))   // other labels keep the default bounds
    }

    @Test func oneNameWithTwoTypesKeepsTheFirstAndCountsTheConflict() {
        let f = KeyVizMetricsFactory()
        Meter(label: "shared", factory: f).set(1)
        Recorder(label: "shared", aggregate: true, factory: f).record(1)
        let text = render(f, .prometheusText)
        #expect(text.contains("# TYPE shared gauge"))
        #expect(text.contains("keyviz_metrics_conflicts_total 1"))
    }

    @Test func destroyedHandlersLeaveTheExposition() {
        let f = KeyVizMetricsFactory()
        let c = Counter(label: "gone", factory: f)
        c.increment()
        #expect(render(f, .prometheusText).contains("gone_total 1"))
        c.destroy()
        #expect(!render(f, .prometheusText).contains("gone_total"))
    }

    @Test func awkwardLabelsAndDimensionsBecomeValidNames() async throws {
        let f = KeyVizMetricsFactory()
        Counter(label: "9 lives.€", dimensions: [("__reserved", "a"), ("le", "b"), ("ok", "quote\"and\\slash\nnewline")], factory: f).increment()
        let text = render(f, .prometheusText)
        #expect(try await ToolRunner.promtoolComplaints(Array(text.utf8)) == nil)
        #expect(text.contains("_9_lives___total{_le=\"b\",_reserved=\"a\",ok=\"quote\\\"and\\\\slash\\nnewline\"} 1"))
    }
}
