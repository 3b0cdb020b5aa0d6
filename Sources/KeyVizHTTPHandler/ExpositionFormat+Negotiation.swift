public import KeyVizPrometheus

/// Content negotiation is HTTP's business, so it lives with the HTTP handler, not with the
/// exposition encoders.
extension ExpositionFormat {
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
