import CoreMetrics
import KeyVizPrometheus
import Synchronization

/// What the factory needs of every handler: its samples at render time.
protocol KeyVizMetricHandler: AnyObject, Sendable {
    /// What swift-metrics calls it, for the help text.
    static var kind: String { get }
    func samples(labels: [(name: String, value: String)]) -> [MetricSample]
}

/// A swift-metrics counter: an exact integer that only grows (negative increments are ignored,
/// as Prometheus counters never decrease).
final class KeyVizCounter: CounterHandler, KeyVizMetricHandler, Sendable {
    static let kind = "counter"
    private let value = Atomic<UInt64>(0)
    func increment(by amount: Int64) { if amount > 0 { value.wrappingAdd(UInt64(amount), ordering: .relaxed) } }
    func reset() { value.store(0, ordering: .relaxed) }
    func samples(labels: [(name: String, value: String)]) -> [MetricSample] {
        [MetricSample(labels: labels, value: .integer(value.load(ordering: .relaxed)))]
    }
}

/// A floating-point counter (negative or non-finite increments are ignored).
final class KeyVizFloatingPointCounter: FloatingPointCounterHandler, KeyVizMetricHandler, Sendable {
    static let kind = "floating-point counter"
    private let value = Mutex(0.0)
    func increment(by amount: Double) { if amount > 0, amount.isFinite { value.withLock { $0 += amount } } }
    func reset() { value.withLock { $0 = 0 } }
    func samples(labels: [(name: String, value: String)]) -> [MetricSample] {
        [MetricSample(labels: labels, value: .double(value.withLock { $0 }))]
    }
}

/// A meter, or a recorder that keeps only its last value: a gauge.
final class KeyVizGauge: MeterHandler, RecorderHandler, KeyVizMetricHandler, Sendable {
    static let kind = "meter or last-value recorder"
    private let value = Mutex(0.0)
    func set(_ value: Int64) { self.value.withLock { $0 = Double(value) } }
    func set(_ value: Double) { self.value.withLock { $0 = value } }
    func increment(by amount: Double) { value.withLock { $0 += amount } }
    func decrement(by amount: Double) { value.withLock { $0 -= amount } }
    func record(_ value: Int64) { set(value) }
    func record(_ value: Double) { set(value) }
    func samples(labels: [(name: String, value: String)]) -> [MetricSample] {
        [MetricSample(labels: labels, value: .double(value.withLock { $0 }))]
    }
}

/// An aggregating recorder or a timer: cumulative buckets, sum and count. `scale` converts the
/// recorded unit to the exported one (timers record nanoseconds and export seconds).
final class KeyVizHistogram: RecorderHandler, TimerHandler, KeyVizMetricHandler, Sendable {
    private struct State {
        var buckets: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0
    }
    static let kind = "recorder or timer"
    private let bounds: [Double]
    private let boundLabels: [String]
    private let scale: Double
    private let state: Mutex<State>

    init(bounds: [Double], scale: Double) {
        self.bounds = bounds
        boundLabels = bounds.map(ExpositionWriter.boundLabel)
        self.scale = scale
        state = Mutex(State(buckets: [UInt64](repeating: 0, count: bounds.count)))
    }

    func record(_ value: Int64) { observe(Double(value) * scale) }
    func record(_ value: Double) { observe(value * scale) }
    func recordNanoseconds(_ duration: Int64) { observe(Double(duration) * scale) }

    private func observe(_ v: Double) {
        guard !v.isNaN else { return }
        state.withLock { s in
            s.count &+= 1
            s.sum += v
            // Cumulative buckets: the first bound at or above v, and every bound after it.
            if let i = bounds.firstIndex(where: { v <= $0 }) {
                for j in i..<bounds.count { s.buckets[j] &+= 1 }
            }
        }
    }

    func samples(labels: [(name: String, value: String)]) -> [MetricSample] {
        let s = state.withLock { $0 }
        var out: [MetricSample] = []
        for (i, label) in boundLabels.enumerated() {
            out.append(MetricSample(suffix: "_bucket", labels: labels + [("le", label)], value: .integer(s.buckets[i])))
        }
        out.append(MetricSample(suffix: "_bucket", labels: labels + [("le", "+Inf")], value: .integer(s.count)))
        out.append(MetricSample(suffix: "_sum", labels: labels, value: .double(s.sum)))
        out.append(MetricSample(suffix: "_count", labels: labels, value: .integer(s.count)))
        return out
    }
}
