/// The two text formats `/metrics` speaks.
public enum ExpositionFormat: Sendable, CaseIterable {
    /// Prometheus text format 0.0.4.
    case prometheusText
    /// OpenMetrics 1.0 text.
    case openMetrics

    /// The exact `Content-Type` to send with a body in this format.
    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format for an HTTP `Accept` header: OpenMetrics 1.0 when the client ranks it
    /// highest among what we speak (as Prometheus does), else text 0.0.4 (also for `*/*`, a
    /// missing header, or anything unparsable).
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheusText }
        var best: (q: Double, format: ExpositionFormat)?
        for entry in HTTPQualityList.parse(accept) where entry.q > 0 {
            let version = entry.parameters["version"]
            let format: ExpositionFormat?
            switch entry.token {
            case "application/openmetrics-text":
                format = (version == nil || version == "1.0.0") ? .openMetrics : nil
            case "text/plain":
                format = (version == nil || version == "0.0.4") ? .prometheusText : nil
            default:
                format = nil
            }
            guard let format else { continue }
            if best == nil || entry.q > best!.q { best = (entry.q, format) }
        }
        return best?.format ?? .prometheusText
    }
}
