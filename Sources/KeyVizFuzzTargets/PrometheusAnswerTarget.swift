import KeyViz
import KeyVizCluster
import KeyVizHTTPHandler

/// `prometheus-answer`: the input is what a Prometheus server answers, read by `PrometheusView`
/// behind the handler (`GET /api/v1/keyviz/matrix?scope=prometheus`).
///
/// Input: `<query_range body> NUL <query body> [NUL <matrix query string>]`; without a NUL both
/// queries get the whole input. The query string (default: the last 60 s of the fixture node's
/// columns) goes through the handler's own checks, so it may be refused with a 400. Checks: a
/// 200 is a well-formed matrix (docs/openapi.yaml) with every row one value per column, at most
/// the row budget of rows and `PrometheusView.maxColumns` columns, ascending on one grid of
/// `step_ms`; the one node entry says whether Prometheus answered, and a failed answer has no
/// rows.
enum PrometheusAnswerTarget {
    /// The query when the input names none: the fixture node's last 60 s of columns.
    static let defaultFrom = Fixtures.baseUnixMs + Int64(Fixtures.flushes - 60) * 1000
    static let defaultTo = Fixtures.baseUnixMs + Int64(Fixtures.flushes) * 1000
    static let defaultQuery = "from_unix_ms=\(defaultFrom)&to_unix_ms=\(defaultTo)"
    static let stepMs: Int64 = 5_000

    /// Answers `query_range` and `query` with the input's parts.
    struct InputPrometheus: PeerFetcher {
        let range: [UInt8], instant: [UInt8]
        func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
            if path.hasPrefix("/api/v1/query_range?") { return .success(PeerResponse(status: 200, body: range)) }
            if path.hasPrefix("/api/v1/query?") { return .success(PeerResponse(status: 200, body: instant)) }
            return .success(PeerResponse(status: 404, body: Array("404 page not found".utf8)))
        }
    }

    static func split(_ input: [UInt8]) -> (range: [UInt8], instant: [UInt8], query: [UInt8]) {
        guard let a = input.firstIndex(of: 0) else { return (input, input, Array(defaultQuery.utf8)) }
        let rest = input[(a + 1)...]
        guard let b = rest.firstIndex(of: 0) else { return (Array(input[..<a]), Array(rest), Array(defaultQuery.utf8)) }
        return (Array(input[..<a]), Array(rest[..<b]), Array(rest[(b + 1)...]))
    }

    static func evaluate(_ input: [UInt8]) async -> FuzzOutcome {
        var o = FuzzOutcome()
        let (range, instant, queryText) = split(input)
        let view = try! PrometheusView(url: "http://prometheus:9090", selector: Fixtures.selector, stepMs: stepMs, timeout: .milliseconds(30_000),
                                       fetcher: InputPrometheus(range: range, instant: instant))
        let handler = KeyVizHTTPHandler(metrics: NullExposition(), matrix: Fixtures.peerA.matrix, prometheus: view)
        var query = QueryString.parse(queryText).query
        query["scope"] = "prometheus"
        let r = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: query))
        let what = "prometheus answer (\(String(decoding: queryText.prefix(120), as: UTF8.self)))"
        let rules = MatrixRules(maxRows: KeyVizHTTPHandler.rowBudget(query: query), maxColumns: PrometheusView.maxColumns,
                                scope: "prometheus", ascendingColumns: true, gridColumns: true)
        guard let m = AnswerChecks.matrixResponse(status: r.status, body: r.body, rules: rules, what, &o) else { return o }
        o.check(m.stepMs >= stepMs, "\(what): step_ms \(m.stepMs) under the view's \(stepMs)")
        o.check(m.nodes.count == 1, "\(what): \(m.nodes.count) node entries for one Prometheus")
        if m.nodes.first?.ok == false { o.check(m.rows.isEmpty, "\(what): rows from a failed Prometheus answer") }
        o.check(m.nodes.first?.columns == UInt64(m.columns.count), "\(what): the node entry's columns differ from the answer's")
        return o
    }
}
