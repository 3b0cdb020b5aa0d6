/// Something that renders a whole `/metrics` body and accepts extra collectors: what the HTTP
/// server needs from `PrometheusSampler` without knowing its inner sampler's type.
public protocol MetricsExposition: Sendable {
    func render(format: ExpositionFormat) -> [UInt8]
    func register(_ collector: any MetricsCollector)
}

extension PrometheusSampler: MetricsExposition {}
