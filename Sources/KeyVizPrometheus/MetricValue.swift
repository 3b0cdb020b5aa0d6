/// A sample value: an exact integer (counters of operations and bytes may pass 2^53, where a
/// `Double` would round) or a floating-point number.
public enum MetricValue: Sendable, Equatable {
    case integer(UInt64)
    case double(Double)

    /// Appends the value in Prometheus' canonical spelling: integers in plain decimal, `NaN`,
    /// `+Inf`, `-Inf`, integral doubles up to 2^53 without exponent, others in Swift's
    /// shortest round-trip form (which Prometheus parses).
    func write(to out: inout [UInt8]) {
        switch self {
        case .integer(let v):
            ExpositionWriter.appendDecimal(v, to: &out)
        case .double(let d):
            ExpositionWriter.appendDouble(d, to: &out)
        }
    }
}
