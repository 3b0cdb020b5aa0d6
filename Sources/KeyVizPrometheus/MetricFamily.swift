/// All samples of one metric name, with its help text and type: the unit of exposition.
///
/// Counter family names end in `_total` (the 0.0.4 convention); the OpenMetrics encoder drops
/// the suffix from the TYPE and HELP lines and keeps it on samples, as that format requires.
public struct MetricFamily: Sendable, Equatable {
    public let name: String
    public let help: String
    public let type: MetricType
    public var samples: [MetricSample]

    /// Validates names up front so a bad family can never reach a scrape.
    public init(name: String, help: String, type: MetricType, samples: [MetricSample]) throws(MetricNameError) {
        guard MetricNames.isValidMetricName(name) else { throw .invalidMetricName(name) }
        if type == .counter && !name.hasSuffix("_total") { throw .counterWithoutTotalSuffix(name) }
        for s in samples {
            for l in s.labels where !MetricNames.isValidLabelName(l.name) { throw .invalidLabelName(name, l.name) }
            if !s.suffix.isEmpty && !MetricNames.isValidMetricName(name + s.suffix) { throw .invalidMetricName(name + s.suffix) }
        }
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }

    /// For KeyViz's own families, whose names are constants known to be valid.
    init(unchecked name: String, help: String, type: MetricType, samples: [MetricSample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }
}

/// Why a metric family was refused.
public enum MetricNameError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidMetricName(String)
    case invalidLabelName(String, String)
    case counterWithoutTotalSuffix(String)

    public var description: String {
        switch self {
        case .invalidMetricName(let n): "invalid metric name '\(n)': want [a-zA-Z_:][a-zA-Z0-9_:]*"
        case .invalidLabelName(let f, let l): "invalid label name '\(l)' in \(f): want [a-zA-Z_][a-zA-Z0-9_]*, not starting with __"
        case .counterWithoutTotalSuffix(let n): "counter '\(n)' must end in _total"
        }
    }
}

/// The legacy Prometheus name charsets.
public enum MetricNames {
    public static func isValidMetricName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard let first = u.first, isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":") else { return false }
        return u.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    public static func isValidLabelName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard let first = u.first, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        if u.count >= 2 && u[0] == UInt8(ascii: "_") && u[1] == UInt8(ascii: "_") { return false }
        return u.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
