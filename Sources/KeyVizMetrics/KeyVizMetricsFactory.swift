public import CoreMetrics
public import KeyVizPrometheus
import Synchronization

/// A swift-metrics backend whose metrics render on KeyViz's `/metrics`, in both formats.
///
/// A host bootstraps swift-metrics with it and registers it on the `PrometheusSampler` that
/// serves `/metrics`, so its own counters, gauges, recorders and timers and KeyViz's families
/// are one scrape:
///
/// ```swift
/// let metrics = KeyVizMetricsFactory()
/// MetricsSystem.bootstrap(metrics)
/// prometheus.register(metrics)
/// ```
///
/// Mapping: `Counter` and `FloatingPointCounter` → counter (`_total` appended when missing);
/// `Meter` and non-aggregating `Recorder` → gauge; aggregating `Recorder` → histogram over
/// ``histogramBucketsByLabel`` for its label, else ``histogramBuckets`` (latency-shaped: give a
/// recorder of sizes or counts bounds of its own); `Timer` → histogram in seconds over
/// ``timerBuckets``. Labels are
/// sanitised to Prometheus names (`.`, `-`, spaces and the like become `_`); dimensions become
/// labels. A name used with two types keeps the first and counts the rest in
/// `keyviz_metrics_conflicts_total`.
public final class KeyVizMetricsFactory: MetricsFactory, MetricsCollector, Sendable {
    public let histogramBuckets: [Double]
    /// Upper bounds for the aggregating recorders of these swift-metrics labels.
    public let histogramBucketsByLabel: [String: [Double]]
    public let timerBuckets: [Double]
    private let registry = Mutex(Registry())

    /// - Parameters:
    ///   - histogramBuckets: upper bounds for aggregating recorders (`+Inf` implied; sorted,
    ///     de-duplicated, non-finite values dropped).
    ///   - histogramBucketsByLabel: upper bounds for the recorders of these labels, for example
    ///     `["request.bytes": [64, 256, 1_024, 4_096, 16_384, 65_536]]`.
    ///   - timerBuckets: upper bounds in seconds for timers.
    public init(histogramBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
                histogramBucketsByLabel: [String: [Double]] = [:],
                timerBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]) {
        self.histogramBuckets = Self.bounds(histogramBuckets)
        self.histogramBucketsByLabel = histogramBucketsByLabel.mapValues(Self.bounds)
        self.timerBuckets = Self.bounds(timerBuckets)
    }

    private static func bounds(_ values: [Double]) -> [Double] {
        Array(Set(values.filter(\.isFinite))).sorted()
    }

    // MARK: MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        handler(MetricName.counter(label), .counter, label, dimensions) { KeyVizCounter() }
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        handler(MetricName.counter(label), .counter, label, dimensions) { KeyVizFloatingPointCounter() }
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        handler(MetricName.plain(label), .gauge, label, dimensions) { KeyVizGauge() }
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if aggregate {
            let bounds = histogramBucketsByLabel[label] ?? histogramBuckets
            return handler(MetricName.plain(label), .histogram, label, dimensions) { KeyVizHistogram(bounds: bounds, scale: 1) }
        }
        return handler(MetricName.plain(label), .gauge, label, dimensions) { KeyVizGauge() }
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let bounds = timerBuckets
        return handler(MetricName.plain(label), .histogram, label, dimensions) { KeyVizHistogram(bounds: bounds, scale: 1e-9) }
    }

    public func destroyCounter(_ handler: any CounterHandler) { destroy(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { destroy(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { destroy(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { destroy(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { destroy(handler) }

    // MARK: MetricsCollector

    public func collect() -> [MetricFamily] {
        let (families, conflicts) = registry.withLock { ($0.families, $0.conflicts) }
        var out: [MetricFamily] = []
        for (name, family) in families.sorted(by: { $0.key < $1.key }) {
            var samples: [MetricSample] = []
            for series in family.series.values.sorted(by: { $0.labelKey < $1.labelKey }) {
                samples += series.handler.samples(labels: series.labels)
            }
            if let f = try? MetricFamily(name: name, help: family.help, type: family.type, samples: samples) { out.append(f) }
        }
        out.append(try! MetricFamily(name: "keyviz_metrics_conflicts_total",
                                     help: "swift-metrics handlers refused because their name was taken by another type.",
                                     type: .counter, samples: [MetricSample(value: .integer(conflicts))]))
        return out
    }

    // MARK: registry

    private struct Series {
        var labels: [(name: String, value: String)]
        var labelKey: String
        var handler: any KeyVizMetricHandler
    }

    private struct Family {
        var type: MetricType
        var help: String
        var series: [String: Series] = [:]
    }

    private struct Registry {
        var families: [String: Family] = [:]
        var conflicts: UInt64 = 0
    }

    /// The one handler for (name, labels): made on first use, shared after (swift-metrics may
    /// ask again for the same label and dimensions).
    private func handler<H: KeyVizMetricHandler>(_ name: String, _ type: MetricType, _ label: String,
                                                 _ dimensions: [(String, String)], make: () -> H) -> H {
        let labels = MetricName.labels(dimensions)
        let key = labels.map { "\($0.name)=\($0.value)" }.joined(separator: "\u{0}")
        return registry.withLock { r in
            if let family = r.families[name] {
                guard family.type == type else {
                    r.conflicts &+= 1
                    return make()   // works for the caller, never exported
                }
                if let existing = family.series[key]?.handler as? H { return existing }
            }
            let h = make()
            // swift-metrics has no help text; say where the family comes from (promtool wants one).
            r.families[name, default: Family(type: type, help: "swift-metrics \(H.kind) '\(label)'.")].series[key] = Series(labels: labels, labelKey: key, handler: h)
            return h
        }
    }

    private func destroy(_ handler: AnyObject) {
        registry.withLock { r in
            for (name, family) in r.families {
                for (key, series) in family.series where series.handler === handler {
                    r.families[name]!.series[key] = nil
                }
                if r.families[name]!.series.isEmpty { r.families[name] = nil }
            }
        }
    }
}
