import Benchmark
import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizPrometheus
import KeyVizTestKit
import Prometheus

// Fold + render with every route touched since the previous render, for 256 and 4 096 buckets
// over 1 000, 10 000 and 100 000 routes, in both formats, with and without gzip; and the peer,
// swift-prometheus' emit, over the same number of series. Only the render is measured: the
// observations that dirty every route happen before `startMeasurement()`.

private func renderBenchmark(buckets: Int, routes: Int, format: ExpositionFormat, gzip: Bool) {
    let name = "render \(buckets) buckets, \(routes) routes, \(format == .openMetrics ? "OpenMetrics" : "text 0.0.4")\(gzip ? " + gzip" : "")"
    let sampler = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: buckets, processMetrics: false))
    let catalog = RouteCatalog.evenlySplit(count: routes, groups: 8)
    sampler.apply(catalog)
    _ = sampler.render(format: format)   // the layout is built once, outside the measurement
    let ids = catalog.routes.map(\.id)
    Benchmark(name, configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(2), maxIterations: 200)) { benchmark in
        for id in ids { sampler.observe(route: id, op: .write, keyLength: 16, valueLength: 64) }
        benchmark.startMeasurement()
        let body = sampler.render(format: format)
        blackHole(gzip ? (Gzip.compress(body) ?? []) : body)
        benchmark.stopMeasurement()
    }
}

/// swift-prometheus with `series` counters of one family, every one incremented before each emit.
private func peerBenchmark(series: Int) {
    let registry = PrometheusCollectorRegistry()
    let descriptor = MetricNameDescriptor(namespace: "keyviz", subsystem: "peer", metricName: "bucket_writes", unitName: "total", helpText: "Peer.")
    let counters = (0..<series).map { registry.makeCounter(descriptor: descriptor, labels: [("bucket", "key/\($0)")]) }
    var buffer: [UInt8] = []
    Benchmark("swift-prometheus emit, \(series) series", configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(2), maxIterations: 200)) { benchmark in
        for c in counters { c.increment() }
        benchmark.startMeasurement()
        buffer.removeAll(keepingCapacity: true)
        registry.emit(into: &buffer)
        blackHole(buffer)
        benchmark.stopMeasurement()
    }
}

let benchmarks: @Sendable () -> Void = {
    for buckets in [256, 4096] {
        for routes in [1_000, 10_000, 100_000] {
            for format in ExpositionFormat.allCases {
                renderBenchmark(buckets: buckets, routes: routes, format: format, gzip: false)
            }
            renderBenchmark(buckets: buckets, routes: routes, format: .prometheusText, gzip: true)
        }
    }
    // The same number of series as KeyViz renders at each budget (5 per bucket + ~50 others).
    for series in [1_330, 20_530] { peerBenchmark(series: series) }
}
