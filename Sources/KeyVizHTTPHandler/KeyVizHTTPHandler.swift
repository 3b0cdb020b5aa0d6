#if canImport(Glibc)
import Glibc
#endif
public import KeyViz
public import KeyVizPrometheus

/// Maps a request to a response for every KeyViz endpoint. Pure request-in, response-out, so
/// it is tested without sockets. One entry point, `await handle(_:)`, which never blocks a
/// thread: a scrape waiting for a shared render, or a cluster view waiting for its peers, is a
/// suspended task (`MetricsServer` suspends the connection meanwhile; an async host, e.g. on
/// Hummingbird's event loops, just awaits it).
///
/// - `GET|HEAD /metrics`: the exposition, format from `Accept` (marked compressible: the
///   transport gzips it when `Accept-Encoding` allows), 503 when the
///   render overran `X-Prometheus-Scrape-Timeout-Seconds`. Concurrent scrapes share renders
///   (`RenderCoalescer`).
/// - `GET /api/v1/keyviz/matrix`: the heat matrix as JSON (503 when there is no matrix);
///   `scope=cluster` merges the peers' matrices, `scope=prometheus` reads the bucket counters
///   from Prometheus, each through an injected ``ClusterMatrixSource``.
/// - `GET /healthz`: `ok`. `GET /`: the heatmap page (`HeatmapPage`).
/// - anything else: 404; other methods: 405 with `Allow`.
///
/// Policy (auth, concurrency limits, deadlines) is the server's, set by
/// ``MetricsServerConfiguration`; the router has none, so there is one place to set it.
public final class KeyVizHTTPHandler: Sendable {
    let coalescer: RenderCoalescer
    let matrix: HeatMatrixSampler?
    let hotKeys: (any HotKeyReporting)?
    let cluster: (any ClusterMatrixSource)?
    let prometheus: (any ClusterMatrixSource)?
    /// This node's stable id, written as `node_id` in its matrix answers so a cluster view
    /// counts it once however many names reach it; nil writes none.
    public let nodeID: String?
    /// `,"node_id":…` for a local answer (empty without an id): written once, added to every answer.
    private let nodeIDMember: [UInt8]
    public let httpMetrics = HTTPMetrics()

    /// - Parameters:
    ///   - metrics: what `/metrics` renders (a `PrometheusSampler`).
    ///   - matrix: the heat matrix for the matrix API and the page; nil answers 503 there.
    ///   - hotKeys: a `HotKeySampler` for `/api/v1/keyviz/hot-keys`; nil answers no keys there.
    ///   - cluster: answers `scope=cluster` matrix requests (a `KeyVizCluster.ClusterView`);
    ///     nil answers 400 there.
    ///   - prometheus: answers `scope=prometheus` (a `KeyVizCluster.PrometheusView`); nil answers 400.
    ///   - nodeID: this node's stable id (a flag, a stored id, or its advertised address): the
    ///     cluster view's de-duplication key.
    public init(metrics: any MetricsExposition, matrix: HeatMatrixSampler?, hotKeys: (any HotKeyReporting)? = nil,
                cluster: (any ClusterMatrixSource)? = nil, prometheus: (any ClusterMatrixSource)? = nil, nodeID: String? = nil) {
        let id = nodeID.flatMap { $0.isEmpty ? nil : String($0.prefix(256)) }
        self.nodeID = id
        var member: [UInt8] = []
        if let id {
            member.append(contentsOf: #","node_id":"#.utf8)
            MatrixJSON.string(id, &member)
        }
        nodeIDMember = member
        coalescer = RenderCoalescer(metrics: metrics)
        self.matrix = matrix
        self.hotKeys = hotKeys
        self.cluster = cluster
        self.prometheus = prometheus
        metrics.register(httpMetrics)
    }

    /// Answers a request and counts it in `httpMetrics`. It suspends, never blocks, while the
    /// answer waits (a shared render, peers): an async server (Hummingbird, Vapor, a host's own,
    /// `MetricsServer`) calls it from its event loops or tasks.
    public func handle(_ request: KeyVizHTTPRequest) async -> KeyVizHTTPResponse {
        await measure(handler: Self.handlerName(request.path)) { started in await respond(request, started: started) }
    }

    /// What a request still waits for once its own work is done: nothing, a shared render, or
    /// a cluster source.
    package enum Step {
        case answer(KeyVizHTTPResponse)
        case render(ExpositionFormat, scrapeTimeoutSeconds: Double?)
        case clusterMatrix(any ClusterMatrixSource, query: [String: String], local: MatrixAnswer)
        case clusterHotKeys(any ClusterHotKeysSource, query: [String: String], localBody: [UInt8])
    }

    /// Runs `body` (given its start time) as one request of `handler` in ``httpMetrics``.
    package func measure(handler: String, _ body: (Double) -> KeyVizHTTPResponse) -> KeyVizHTTPResponse {
        let started = monotonicSeconds()
        httpMetrics.begin()
        let response = body(started)
        httpMetrics.end(handler: handler, code: response.status, seconds: monotonicSeconds() - started)
        return response
    }

    /// Runs `body` (given its start time) as one request of `handler` in ``httpMetrics``.
    package func measure(handler: String, _ body: (Double) async -> KeyVizHTTPResponse) async -> KeyVizHTTPResponse {
        let started = monotonicSeconds()
        httpMetrics.begin()
        let response = await body(started)
        httpMetrics.end(handler: handler, code: response.status, seconds: monotonicSeconds() - started)
        return response
    }

    /// The `handler` label for a request to `path`: its endpoint's, or `other` (a 404).
    package static func handlerName(_ path: String) -> String {
        handlerName(KeyVizEndpoint(path: path))
    }

    /// The `handler` label of `endpoint`, or `other` (a 404) for none.
    package static func handlerName(_ endpoint: KeyVizEndpoint?) -> String {
        endpoint?.handlerLabel ?? "other"
    }

    /// The response for a request that waits for nothing (a local matrix, hot keys, the page),
    /// without accounting; nil for one that waits (a render, a cluster source).
    package func answerWithoutWaiting(_ request: KeyVizHTTPRequest) -> KeyVizHTTPResponse? {
        if case .answer(let r) = prepare(request) { return r }
        return nil
    }

    /// The response for a request, without accounting, once what it waits for is in.
    package func respond(_ request: KeyVizHTTPRequest, started: Double) async -> KeyVizHTTPResponse {
        switch prepare(request) {
        case .answer(let r): return r
        case .render(let format, let timeout):
            return rendered(await coalescer.render(format: format), format: format, timeout: timeout, started: started)
        case .clusterMatrix(let source, let query, let local): return .json(200, await source.clusterMatrix(query: query, local: local))
        case .clusterHotKeys(let source, let query, let local): return .json(200, await source.clusterHotKeys(query: query, localBody: local))
        }
    }

    /// A request's own work (validation, the local snapshot): one switch on the exact path.
    package func prepare(_ request: KeyVizHTTPRequest) -> Step {
        guard let endpoint = KeyVizEndpoint(path: request.path) else { return .answer(.text(404, "not found: \(request.path)")) }
        guard KeyVizEndpoint.methods.contains(request.method) else {
            return .answer(.text(405, "method \(request.method) not allowed", extra: [("Allow", KeyVizEndpoint.methods.joined(separator: ", "))]))
        }
        switch endpoint {
        case .metrics:
            let timeout = request.headers["x-prometheus-scrape-timeout-seconds"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
            return .render(ExpositionFormat.negotiate(accept: request.headers["accept"]), scrapeTimeoutSeconds: timeout)
        case .matrix: return serveMatrix(request)
        case .hotKeys: return serveHotKeys(request)
        case .splitAdvice: return .answer(serveSplitAdvice(request))
        case .healthz: return .answer(.text(200, "ok"))
        case .page: return .answer(HeatmapPage.response)
        }
    }

    /// `/metrics`' answer once its render is in; 503 when it overran the scrape's timeout.
    private func rendered(_ body: [UInt8], format: ExpositionFormat, timeout: Double?, started: Double) -> KeyVizHTTPResponse {
        if let t = timeout, monotonicSeconds() - started > t {
            return .text(503, "render took longer than the scrape timeout of \(t) s")
        }
        let headers: [(name: String, value: String)] = [("Content-Type", format.contentType), ("Vary", "Accept, Accept-Encoding")]
        return KeyVizHTTPResponse(status: 200, headers: headers, body: body, compressible: true)
    }

    private func serveMatrix(_ request: KeyVizHTTPRequest) -> Step {
        switch localMatrix(request) {
        case .refused(let response): return .answer(response)
        case .answer(let answer, let merged?): return .clusterMatrix(merged, query: request.query, local: answer)
        case .answer(let answer, nil):
            return .answer(.json(200, MatrixJSON.encode(answer.matrix, generatedAt: answer.generatedAt, stepMs: answer.stepMs,
                                                        events: answer.events.map { (nil, $0) }, eventsDropped: answer.eventsDropped,
                                                        extra: nodeIDMember)))
        }
    }

    /// This node's matrix answer to a local (`scope` absent or `local`) matrix request, as a
    /// value; nil when the request is refused. What a cluster source is handed, for tests and
    /// fuzz fixtures that call one directly.
    package func localMatrixAnswer(query: [String: String]) -> MatrixAnswer? {
        var q = query
        q["scope"] = "local"
        if case .answer(let answer, _) = localMatrix(KeyVizHTTPRequest(method: "GET", path: KeyVizEndpoint.matrix.path, query: q)) { return answer }
        return nil
    }

    private enum LocalMatrix {
        case refused(KeyVizHTTPResponse)
        /// The local answer, and the source that merges it when the scope asks for one.
        case answer(MatrixAnswer, merged: (any ClusterMatrixSource)?)
    }

    private func localMatrix(_ request: KeyVizHTTPRequest) -> LocalMatrix {
        guard let matrix else {
            return .refused(.json(503, MatrixJSON.error(code: "keyviz_disabled", message: "this node keeps no heat matrix")))
        }
        let seriesName = request.query["series"] ?? "writes"
        guard let series = Series(wireName: seriesName) else {
            return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "unknown series '\(seriesName)': want reads, writes, read_bytes or write_bytes")))
        }
        let scope = request.query["scope"] ?? ""
        guard scope == "" || scope == "local" || scope == "cluster" || scope == "prometheus" else {
            return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "scope must be local, cluster or prometheus")))
        }
        let merged: (any ClusterMatrixSource)? = scope == "cluster" ? cluster : scope == "prometheus" ? prometheus : nil
        if scope == "cluster" && cluster == nil {
            return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "scope=cluster: this node has no cluster view (no peers configured)")))
        }
        if scope == "prometheus" && prometheus == nil {
            return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "scope=prometheus: this node has no Prometheus URL configured")))
        }
        var bounds: [Int64?] = []
        for name in ["from_unix_ms", "to_unix_ms"] {
            guard let raw = request.query[name], !raw.isEmpty else { bounds.append(nil); continue }
            guard let v = Int64(raw), v >= 0, v <= UnixTime.validMilliseconds.upperBound else {
                return .refused(.json(400, MatrixJSON.error(code: "invalid_query",
                                                   message: "\(name) must be an integer of Unix milliseconds in 0…\(UnixTime.validMilliseconds.upperBound)")))
            }
            bounds.append(v == 0 ? nil : v)
        }
        if let raw = request.query["rows"], !raw.isEmpty {
            let digits = raw.hasPrefix("-") || raw.hasPrefix("+") ? raw.dropFirst() : raw[...]
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "rows must be an integer")))
            }
        }
        let rows = Self.rowBudget(query: request.query)
        var keys: [[UInt8]] = []
        for name in ["start_key", "end_key"] {
            guard let raw = request.query[name], !raw.isEmpty else { keys.append([]); continue }
            guard let key = MatrixJSON.decodeKey(raw) else {
                return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "\(name) must be base64 (standard or URL-safe)")))
            }
            keys.append(key)
        }
        if !keys[1].isEmpty, !keys[0].lexicographicallyPrecedes(keys[1]) {
            return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "end_key must sort after start_key")))
        }
        let range = keys[0].isEmpty && keys[1].isEmpty ? nil : (start: keys[0], end: keys[1])
        // The narrowest column wanted: picks the history tier (HeatMatrixSampler.snapshot).
        var resolution: Int64?
        if let raw = request.query["resolution_ms"], !raw.isEmpty {
            guard let v = Int64(raw), v >= 0 else {
                return .refused(.json(400, MatrixJSON.error(code: "invalid_query", message: "resolution_ms must be a non-negative integer of milliseconds")))
            }
            resolution = v
        }
        // The cluster merge takes every row and applies the budget after merging.
        let m = matrix.snapshot(series: series, fromUnixMs: bounds[0], toUnixMs: bounds[1], rows: merged != nil ? 1024 : rows, keys: range,
                                resolutionMs: resolution)
        // The step of the tier the columns come from (the flush step for the finest).
        let stepMs = max(1, m.stepMilliseconds > 0 ? m.stepMilliseconds : matrix.configuration.stepMilliseconds)
        // Events over the columns' span: from the first column's window start unless asked.
        // Stamps come from flushes and restored files; a host's own extreme flush stamp must not trap here.
        let firstWindowStart = m.columnUnixMs.first.flatMap { t in
            let (v, overflow) = t.subtractingReportingOverflow(stepMs)
            return overflow ? nil : v
        }
        let events = matrix.routeChanges.events(fromUnixMs: bounds[0] ?? firstWindowStart, toUnixMs: bounds[1])
        let answer = MatrixAnswer(matrix: m, generatedAt: Self.rfc3339Now(), stepMs: stepMs, events: events,
                                  eventsDropped: matrix.routeChanges.droppedCount, nodeID: nodeID)
        return .answer(answer, merged: merged)
    }

    /// The hottest keys: of one route (`route=<id>`) or across tracked routes, of both ops or
    /// `op=read|write`, hottest first.
    private func serveHotKeys(_ request: KeyVizHTTPRequest) -> Step {
        let scope = request.query["scope"] ?? ""
        guard scope == "" || scope == "local" || scope == "cluster" else {
            return .answer(.json(400, MatrixJSON.error(code: "invalid_query", message: "scope must be local or cluster")))
        }
        var merged: (any ClusterHotKeysSource)?
        if scope == "cluster" {
            guard let source = cluster as? any ClusterHotKeysSource else {
                return .answer(.json(400, MatrixJSON.error(code: "invalid_query", message: "scope=cluster: this node has no cluster view (no peers configured)")))
            }
            guard (request.query["route"] ?? "").isEmpty else {
                return .answer(.json(400, MatrixJSON.error(code: "invalid_query", message: "route ids are per node: no route filter with scope=cluster")))
            }
            merged = source
        }
        var op: Op?
        if let raw = request.query["op"], !raw.isEmpty {
            guard let o = Op.allCases.first(where: { $0.description == raw }) else {
                return .answer(.json(400, MatrixJSON.error(code: "invalid_query", message: "op must be read or write")))
            }
            op = o
        }
        var route: RouteID?
        if let raw = request.query["route"], !raw.isEmpty {
            guard let id = UInt64(raw), RouteID(id) < RouteID.limit else {
                return .answer(.json(400, MatrixJSON.error(code: "invalid_query", message: "route must be a route id (0…4294967295)")))
            }
            route = RouteID(id)
        }
        // Without a sampler the answer is an empty list with sample_every 0 (not an error: the
        // page asks every node, and a page should not log failures for a feature that is off).
        var keys: [HotKey] = []
        var sampleEvery = 0
        var samples: (taken: UInt64, dropped: UInt64) = (0, 0)
        if let hotKeys {
            if let route {
                keys = hotKeys.hotKeys(route: route, op: op)
            } else {
                keys = (op.map { [$0] } ?? Op.allCases).flatMap { hotKeys.hottestKeys(op: $0, limit: nil) }
            }
            sampleEvery = keys.first?.sampleEvery ?? hotKeys.sampleEvery
            samples = hotKeys.sampleCounts
        }
        let body = HotKeysJSON.encode(keys, route: route, sampleEvery: sampleEvery, samples: samples,
                                      generatedAt: Self.rfc3339Now(), extra: Array(#","scope":"local""#.utf8) + nodeIDMember)
        if let merged { return .clusterHotKeys(merged, query: request.query, localBody: body) }
        return .answer(.json(200, body))
    }

    /// Split advice of this node's hottest routes. Route ids and ranges are a node's own, so
    /// there is no cluster scope. Without a hot-key sampler: an empty list, sample_every 0.
    private func serveSplitAdvice(_ request: KeyVizHTTPRequest) -> KeyVizHTTPResponse {
        let scope = request.query["scope"] ?? ""
        guard scope == "" || scope == "local" else {
            return .json(400, MatrixJSON.error(code: "invalid_query", message: "split advice is per node: scope must be local"))
        }
        var op: Op?
        if let raw = request.query["op"], !raw.isEmpty {
            guard let o = Op.allCases.first(where: { $0.description == raw }) else {
                return .json(400, MatrixJSON.error(code: "invalid_query", message: "op must be read or write"))
            }
            op = o
        }
        let advice = hotKeys?.splitAdvice(op: op) ?? []
        return .json(200, SplitAdviceJSON.encode(advice, sampleEvery: hotKeys?.sampleEvery ?? 0, generatedAt: Self.rfc3339Now(),
                                                 extra: Array(#","scope":"local""#.utf8) + nodeIDMember))
    }

    /// The row budget a matrix request asks for, once its `rows` is known to be an integer (or
    /// absent): 1…1024; absent, 0, negative or larger (however many digits) mean 1024. The
    /// cluster views read a forwarded query with the same rule.
    package static func rowBudget(query: [String: String]) -> Int {
        if let raw = query["rows"], let v = Int(raw), v > 0 { return min(1024, v) }
        return 1024
    }

    /// Now, as the answers' `generated_at` spell it.
    package static func rfc3339Now() -> String { rfc3339(UnixTime.nowMilliseconds()) }

    static func rfc3339(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = Int(ms % 1000)
        let frac = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)).\(frac)Z"
    }
}

package func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
