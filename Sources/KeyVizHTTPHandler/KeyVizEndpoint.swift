/// Every path KeyViz answers, in one place: the handler routes by it, the embedded server
/// limits and counts by it, and an adapter mounts `allCases` on its router, so a new
/// endpoint reaches every host without a second list to update.
public enum KeyVizEndpoint: String, CaseIterable, Sendable {
    /// The Prometheus exposition (text or OpenMetrics, by `Accept`).
    case metrics
    /// The heat matrix as JSON (`docs/api.md`).
    case matrix
    /// The hottest keys of the hottest routes as JSON.
    case hotKeys = "hot_keys"
    /// Where to split the hottest routes, as JSON (advice only).
    case splitAdvice = "split_advice"
    /// Liveness: `ok`.
    case healthz
    /// The heat-map page. KeyViz serves it at `/`; an adapter may mount it elsewhere.
    case page = "index"

    /// Where KeyViz's own server serves it.
    public var path: String {
        switch self {
        case .metrics: "/metrics"
        case .matrix: "/api/v1/keyviz/matrix"
        case .hotKeys: "/api/v1/keyviz/hot-keys"
        case .splitAdvice: "/api/v1/keyviz/split-advice"
        case .healthz: "/healthz"
        case .page: "/"
        }
    }

    /// The methods it answers (anything else is 405).
    public static let methods = ["GET", "HEAD"]

    /// The `handler` label of `keyviz_http_requests_total` and the duration histogram.
    public var handlerLabel: String { rawValue }

    /// The endpoint at `path` (exact match, as the server routes), or nil for a 404.
    public init?(path: String) {
        guard let endpoint = Self.allCases.first(where: { $0.path == path }) else { return nil }
        self = endpoint
    }
}
