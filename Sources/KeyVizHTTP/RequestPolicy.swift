/// A ``MetricsServerConfiguration`` as the server enforces it on each request. The handler has
/// no policy of its own, so what the configuration says is what happens.
final class RequestPolicy: Sendable {
    let basicAuth: BasicAuthUsers?
    let scrapes: ConcurrencyGate
    let matrixRequests: ConcurrencyGate
    let targetLimit: Int
    let parameterLimit: Int
    let headLimit: Int
    let memoryLimit: Int

    /// `configuration`, already checked by `MetricsServerConfiguration.validated()`.
    init(_ configuration: MetricsServerConfiguration) {
        basicAuth = configuration.basicAuth
        scrapes = ConcurrencyGate(limit: configuration.maxConcurrentScrapes)
        matrixRequests = ConcurrencyGate(limit: configuration.maxConcurrentMatrixRequests)
        targetLimit = configuration.requestTargetLimit
        parameterLimit = configuration.queryParameterLimit
        headLimit = configuration.requestHeadLimit
        memoryLimit = configuration.connectionMemoryLimit
    }

    /// What is written directly when libmicrohttpd had too little connection memory left after
    /// a request's head to build the answer queued for it (`status`, its own or KeyViz's).
    func lostAnswer(status: Int) -> KeyVizHTTPResponse {
        status == 414 ? .text(414, "request target longer than \(targetLimit) bytes")
            : .text(431, "request headers too large for the connection's \(memoryLimit) bytes of memory")
    }

    /// Refusals decided as soon as the headers are in, before any body is read: a request
    /// target or head over the limits (414, 431: `targetProblem` is
    /// `keyviz_mhd_screen_target`'s answer, `headCost` `keyviz_mhd_head_cost`'s), malformed
    /// headers (400), missing or wrong credentials (401), then any body at all, since no
    /// endpoint takes one (405 for methods other than GET/HEAD, 413 for GET/HEAD).
    /// `headerProblem` is `keyviz_mhd_header_problem`'s answer.
    func screen(method: String, targetProblem: Int32, headCost: Int, headerProblem: Int32, authorization: String?,
                hasBody: Bool) -> KeyVizHTTPResponse? {
        switch targetProblem {
        case 1: return .text(414, "request target longer than \(targetLimit) bytes")
        case 2: return .text(414, "more than \(parameterLimit) query parameters")
        default: break
        }
        if headCost > headLimit {
            return .text(431, "request headers too large: \(headCost) bytes as counted, limit \(headLimit)")
        }
        switch headerProblem {
        case 1: return .text(400, "bad request: a header name is not a token (no spaces before the colon)")
        case 2: return .text(400, "bad request: more than one Host header")
        default: break
        }
        if let auth = basicAuth, !auth.allows(authorization: authorization) {
            return .text(401, "unauthorized", extra: [("WWW-Authenticate", "Basic realm=\"keyviz\", charset=\"UTF-8\"")])
        }
        if hasBody {
            if method != "GET" && method != "HEAD" {
                return .text(405, "method \(method) not allowed", extra: [("Allow", "GET, HEAD")])
            }
            return .text(413, "no endpoint takes a request body")
        }
        return nil
    }

    /// The gate of `endpoint`'s concurrency limit and its refusal, or nil when it has none.
    func gate(for endpoint: KeyVizEndpoint?) -> (gate: ConcurrencyGate, refusal: KeyVizHTTPResponse)? {
        switch endpoint {
        case .metrics:
            (scrapes, .text(503, "too many concurrent scrapes (limit \(scrapes.limit))", extra: [("Retry-After", "1")]))
        case .matrix:
            (matrixRequests, KeyVizHTTPResponse(status: 503, headers: [("Content-Type", "application/json; charset=utf-8"), ("Retry-After", "1")],
                                          body: MatrixJSON.error(code: "too_many_requests", message: "too many concurrent matrix requests (limit \(matrixRequests.limit))")))
        default:
            nil
        }
    }
}
