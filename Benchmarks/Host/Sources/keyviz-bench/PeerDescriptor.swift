import Prometheus

/// swift-prometheus 2.4.1's metric name, held so the `@Sendable` benchmark bodies can use it.
/// Names avoid the digits 1-8 (2.4.1 validates those on a slow path) and every counter of a
/// name shares one help text (mixing them traps). `@unchecked Sendable`: immutable, only read.
final class PeerDescriptor: @unchecked Sendable {
    let descriptor: MetricNameDescriptor
    init(_ metricName: String) {
        descriptor = MetricNameDescriptor(namespace: "keyviz", subsystem: "peer", metricName: metricName, unitName: "total", helpText: "Peer.")
    }
}
