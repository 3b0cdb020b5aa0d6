/// One line of a metric family: a name suffix, labels and a value.
public struct MetricSample: Sendable, Equatable {
    /// Appended to the family name: "" for plain samples, "_bucket", "_sum", "_count" for
    /// histograms. (Counters get their `_total` from the family, per format.)
    public var suffix: String
    /// Label names and values, in the order given (names must be valid and not repeat).
    public var labels: [(name: String, value: String)]
    public var value: MetricValue

    public init(suffix: String = "", labels: [(name: String, value: String)] = [], value: MetricValue) {
        self.suffix = suffix
        self.labels = labels
        self.value = value
    }

    public static func == (a: MetricSample, b: MetricSample) -> Bool {
        a.suffix == b.suffix && a.value == b.value && a.labels.count == b.labels.count
            && zip(a.labels, b.labels).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
