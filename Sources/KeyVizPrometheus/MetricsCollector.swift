/// Adds a host application's own metric families to KeyViz's `/metrics` output.
///
/// Called under the render lock, once per render, so keep it quick. A family whose name is
/// already taken by KeyViz or an earlier collector is left out of that render and counted in
/// `keyviz_collector_conflicts_total`.
public protocol MetricsCollector: Sendable {
    func collect() -> [MetricFamily]
}
