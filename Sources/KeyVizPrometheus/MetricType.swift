/// The Prometheus metric types KeyViz renders.
public enum MetricType: String, Sendable {
    case counter
    case gauge
    case histogram
}
