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
        var best: (q: Double, format: ExpositionFormat, order: Int)?
        for (i, part) in accept.split(separator: ",").enumerated() {
            let fields = part.split(separator: ";").map { $0.trimmingSpaces() }
            guard let media = fields.first?.lowercased() else { continue }
            var q = 1.0
            var version: String?
            for f in fields.dropFirst() {
                let kv = f.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
                guard kv.count == 2 else { continue }
                switch kv[0].lowercased() {
                case "q": q = Double(kv[1]) ?? 0
                case "version": version = kv[1]
                default: break
                }
            }
            let format: ExpositionFormat?
            switch media {
            case "application/openmetrics-text":
                format = (version == nil || version == "1.0.0") ? .openMetrics : nil
            case "text/plain":
                format = (version == nil || version == "0.0.4") ? .prometheusText : nil
            default:
                format = nil
            }
            guard let format, q > 0 else { continue }
            if best == nil || q > best!.q { best = (q, format, i) }
        }
        return best?.format ?? .prometheusText
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
