public import KeyVizPrometheus
import Synchronization

/// The server's own metrics, with client_golang's promhttp as the model: requests by handler
/// and status code, requests in flight, and a request-duration histogram per handler.
public final class HTTPMetrics: MetricsCollector {
    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// The `le` label of each bound, spelled once (Double.description is not cheap).
    static let boundLabels: [String] = bounds.map(ExpositionWriter.boundLabel)
    static let handlers = (KeyVizEndpoint.allCases.map(\.handlerLabel) + ["other"]).sorted()

    private struct Histogram {
        var buckets = [UInt64](repeating: 0, count: HTTPMetrics.bounds.count)
        var count: UInt64 = 0
        var sum = 0.0
    }

    private struct State {
        // The codes promhttp pre-initialises for its handler, so alerts see them from the start.
        var requests: [String: [Int: UInt64]] = [KeyVizEndpoint.metrics.handlerLabel: [200: 0, 500: 0, 503: 0]]
        var durations: [String: Histogram] = [:]
    }

    private let state = Mutex(State())
    private let inFlight = Atomic<Int>(0)

    public init() {}

    /// Requests being served now.
    public var inFlightCount: Int { inFlight.load(ordering: .relaxed) }

    /// Counts a request as started.
    func begin() { inFlight.wrappingAdd(1, ordering: .relaxed) }

    func end(handler: String, code: Int, seconds: Double) {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        state.withLock { s in
            s.requests[handler, default: [:]][code, default: 0] &+= 1
            var h = s.durations[handler] ?? Histogram()
            h.count &+= 1
            h.sum += seconds
            for (i, b) in Self.bounds.enumerated() where seconds <= b { h.buckets[i] &+= 1 }
            s.durations[handler] = h
        }
    }

    public func collect() -> [MetricFamily] {
        let s = state.withLock { $0 }
        var requests: [MetricSample] = []
        for handler in s.requests.keys.sorted() {
            for (code, n) in s.requests[handler]!.sorted(by: { $0.key < $1.key }) {
                requests.append(MetricSample(labels: [("code", String(code)), ("handler", handler)], value: .integer(n)))
            }
        }
        var durations: [MetricSample] = []
        for handler in Self.handlers {
            let h = s.durations[handler] ?? Histogram()
            for i in Self.bounds.indices {
                durations.append(MetricSample(suffix: "_bucket", labels: [("handler", handler), ("le", Self.boundLabels[i])], value: .integer(h.buckets[i])))
            }
            durations.append(MetricSample(suffix: "_bucket", labels: [("handler", handler), ("le", "+Inf")], value: .integer(h.count)))
            durations.append(MetricSample(suffix: "_sum", labels: [("handler", handler)], value: .double(h.sum)))
            durations.append(MetricSample(suffix: "_count", labels: [("handler", handler)], value: .integer(h.count)))
        }
        return [
            try! MetricFamily(name: "keyviz_http_requests_total", help: "HTTP requests served, by handler and status code.", type: .counter, samples: requests),
            try! MetricFamily(name: "keyviz_http_requests_in_flight", help: "HTTP requests being served now.", type: .gauge,
                              samples: [MetricSample(value: .integer(UInt64(max(0, inFlight.load(ordering: .relaxed)))))]),
            try! MetricFamily(name: "keyviz_http_request_duration_seconds", help: "Time to serve an HTTP request, by handler.", type: .histogram, samples: durations),
        ]
    }
}
