import KeyViz
import KeyVizCluster
import KeyVizHTTPHandler

/// `query`: the input is a query string (`a=1&b=2`, percent-decoded, `+` a space); names the
/// handler reads as headers (`accept`, `x-prometheus-scrape-timeout-seconds`) are sent as
/// headers too. It is asked of the fixture node's matrix API as is and in each scope it did not
/// name (`local`; `cluster`, whose peers are two handlers in process; `prometheus`, a canned
/// server), of the hot-keys API and of `/metrics`.
///
/// Checks: every status is 200, 400 or 503 as docs/openapi.yaml allows per endpoint; matrix
/// answers are well-formed matrices within the row budget and the scope's column cap
/// (the node's history, `ClusterMatrixMerger.defaultMaxColumns`, `PrometheusView.maxColumns`)
/// with ascending columns (and disjoint rows in the cluster scope), in which every in-process
/// peer answered (a peer asked anything but its local matrix fails); errors are `{code,message}`;
/// hot-keys answers have their schema.
enum QueryTarget {
    static func evaluate(_ input: [UInt8]) async -> FuzzOutcome {
        var o = FuzzOutcome()
        let (query, headers) = QueryString.parse(input)
        let handler = Fixtures.node.handler
        let named = query["scope"] ?? ""
        var scopes: [String?] = [nil]
        for s in ["local", "cluster", "prometheus"] where s != (named.isEmpty ? "local" : named) { scopes.append(s) }
        for scope in scopes {
            var q = query
            if let scope { q["scope"] = scope }
            let r = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", headers: headers, query: q))
            let effective = q["scope"] ?? ""
            let what = "matrix (scope \(scope.map { "set to \($0)" } ?? "as given: '\(named.prefix(40))'"))"
            let rules = switch effective {
            case "cluster": MatrixRules(maxRows: KeyVizHTTPHandler.rowBudget(query: q), maxColumns: ClusterMatrixMerger.defaultMaxColumns,
                                        scope: "cluster", ascendingColumns: true, disjointRows: true)
            case "prometheus": MatrixRules(maxRows: KeyVizHTTPHandler.rowBudget(query: q), maxColumns: PrometheusView.maxColumns,
                                           scope: "prometheus", ascendingColumns: true, gridColumns: true)
            default: MatrixRules(maxRows: KeyVizHTTPHandler.rowBudget(query: q), maxColumns: Fixtures.maxLocalColumns, ascendingColumns: true)
            }
            guard let m = AnswerChecks.matrixResponse(status: r.status, body: r.body, rules: rules, what, &o) else { continue }
            if effective == "cluster" {
                o.check(m.nodes.count == 1 + Fixtures.peers.count && m.nodes.allSatisfy(\.ok),
                        "\(what): a node failed: \(AnswerChecks.excerpt(Array(r.body.suffix(400))))")
            }
            if effective == "prometheus" {
                o.check(m.nodes.count == 1 && m.nodes[0].ok, "\(what): the canned Prometheus failed: \(AnswerChecks.excerpt(Array(r.body.suffix(400))))")
            }
        }

        let hot = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/hot-keys", headers: headers, query: query))
        o.check(hot.status == 200 || hot.status == 400, "hot-keys: status \(hot.status)")
        if hot.status == 200 {
            AnswerChecks.hotKeys(hot.body, "hot-keys", &o)
        } else {
            o.answers.append(.init(schema: "Error", label: "hot-keys", status: hot.status, body: hot.body))
            AnswerChecks.error(hot.body, "hot-keys", &o)
        }

        let metrics = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics", headers: headers, query: query))
        o.check(metrics.status == 200 || metrics.status == 503, "/metrics: status \(metrics.status)")
        if metrics.status == 200 {
            let type = metrics.header("Content-Type") ?? ""
            o.check(type.hasPrefix("text/plain") || type.hasPrefix("application/openmetrics-text"), "/metrics: Content-Type \(type)")
            o.check(String(validating: metrics.body, as: UTF8.self) != nil, "/metrics: the exposition is not UTF-8")
        }
        return o
    }
}
