/// A ``MetricsServerConfiguration`` as the server enforces it on each request. The router has
/// no policy of its own, so what the configuration says is what happens.
final class RequestPolicy: Sendable {
    let basicAuth: BasicAuthUsers?
    let scrapes: ConcurrencyGate
    let matrixRequests: ConcurrencyGate

    init(_ configuration: MetricsServerConfiguration) {
        basicAuth = configuration.basicAuth
        scrapes = ConcurrencyGate(limit: configuration.maxConcurrentScrapes)
        matrixRequests = ConcurrencyGate(limit: configuration.maxConcurrentMatrixRequests)
    }

    /// Refusals decided as soon as the headers are in, before any body is read: malformed
    /// headers (400), missing or wrong credentials (401), then any body at all, since no
    /// endpoint takes one (405 for methods other than GET/HEAD, 413 for GET/HEAD). `headerProblem`
    /// is `keyviz_mhd_header_problem`'s answer.
    func screen(method: String, headerProblem: Int32, authorization: String?, hasBody: Bool) -> KeyVizHTTPResponse? {
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

    /// The response when `handler` is at its concurrency limit, or nil when it has none.
    func gate(for handler: String) -> (gate: ConcurrencyGate, refusal: KeyVizHTTPResponse)? {
        switch handler {
        case "metrics":
            (scrapes, .text(503, "too many concurrent scrapes (limit \(scrapes.limit))", extra: [("Retry-After", "1")]))
        case "matrix":
            (matrixRequests, KeyVizHTTPResponse(status: 503, headers: [("Content-Type", "application/json; charset=utf-8"), ("Retry-After", "1")],
                                          body: MatrixJSON.error(code: "too_many_requests", message: "too many concurrent matrix requests (limit \(matrixRequests.limit))")))
        default:
            nil
        }
    }
}
