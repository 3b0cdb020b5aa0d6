import Foundation
import KeyViz
public import KeyVizHTTPHandler

/// The heatmap read from Prometheus (`GET /api/v1/keyviz/matrix?scope=prometheus`): the bucket
/// counters of every scraped node, summed by bucket, as a matrix the page draws like its own.
///
/// Two queries over `[start, end]` at `step`, both scoped by the store's ``PrometheusSelector``:
/// `sum by (bucket) (increase(keyviz_bucket_<series>_total{…}[<step>]))` (`query_range`) for the
/// cells, and `max by (bucket, axis, start) (last_over_time(keyviz_bucket_info{…}[<span>]))` at
/// `end` for the rows' order (`axis`) and start keys (`start`). Rows are buckets in axis order;
/// a row ends where the next starts. Cells are `increase` values rounded to integers, so they
/// carry Prometheus's extrapolation: close to, not exactly, the nodes' counts.
public final class PrometheusView: ClusterMatrixSource {
    public let server: PeerAddress
    public let pathPrefix: String
    /// The store's label matchers, in both queries.
    public let selector: PrometheusSelector
    public let stepMs: Int64
    /// Per query, connect to last byte (1 ms…60 s).
    public let timeout: Duration
    private let fetcher: any PeerFetcher

    /// - Parameters:
    ///   - url: `http://host:port[/prefix]` of the Prometheus server (plain HTTP).
    ///   - selector: the store's label matchers (`{job="kv"}`), so the view shows this store
    ///     only; ``PrometheusSelector/everything`` sums every store Prometheus scrapes.
    ///   - stepMs: the query step (1 s…1 h); a column per step. At least twice the scrape
    ///     interval, or `increase` has too few samples.
    ///   - timeout: per query, connect to last byte (1 ms…60 s).
    ///   - fetcher: the transport (``HTTPPeerFetcher`` by default).
    /// - Throws: ``ClusterSettingError`` naming the URL or a setting outside its range.
    public init(url: String, selector: PrometheusSelector, stepMs: Int64 = 15_000, timeout: Duration = .seconds(5),
                fetcher: any PeerFetcher = HTTPPeerFetcher()) throws(ClusterSettingError) {
        guard url.hasPrefix("http://") else { throw ClusterSettingError(setting: "url", problem: "'\(url)': want http://host:port (https is not supported)") }
        try ClusterSettingError.check("stepMs", stepMs, 1000...3_600_000, unit: " ms")
        try ClusterSettingError.check("timeout", timeout, .milliseconds(1)...(.seconds(60)))
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        do {
            server = try PeerAddress(parsing: String(rest[..<slash]))
        } catch {
            throw ClusterSettingError(setting: "url", problem: "'\(url)': \(error)")
        }
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        pathPrefix = prefix
        self.selector = selector
        self.stepMs = stepMs
        self.timeout = timeout
        self.fetcher = fetcher
    }

    /// Series accepted in one answer: more is refused (a bucket budget is at most 4 096 per
    /// node; this leaves room for many nodes and label changes, not for an unbounded grid).
    public static let maxSeries = 65_536
    /// Columns at most: a wider range gets a coarser step.
    public static let maxColumns = 1440

    public func clusterMatrix(query: [String: String], local: MatrixAnswer) async -> [UInt8] {
        let series = query["series"].flatMap(Series.init(wireName:)) ?? .writes
        // Every time below is within UnixTime.validMilliseconds, so no sum or difference traps.
        let valid = UnixTime.validMilliseconds
        func bound(_ name: String) -> Int64? {
            query[name].flatMap { Int64($0) }.flatMap { $0 > 0 ? min($0, valid.upperBound) : nil }
        }
        let end = bound("to_unix_ms") ?? UnixTime.nowMilliseconds()
        var start = bound("from_unix_ms")
            ?? local.matrix.columnUnixMs.first.map { $0 - local.stepMs } ?? (end - 15 * 60_000)
        // Not before 1970: the matrix API's stamps are not negative (a grid there would be
        // written as columns all stamped 0; fuzzed: Fuzz/Regressions/query).
        start = max(0, start)
        // At most maxColumns columns: a wider range gets a coarser step.
        let columnsWanted = Int64(Self.maxColumns)
        let step = max(stepMs, (end - start + columnsWanted - 1) / columnsWanted)
        start = min(start, end - step)
        let first = start + step
        let gridCount = end >= first ? Int((end - first) / step) + 1 : 0
        var rows: [(start: [UInt8], total: UInt64, values: [(column: Int, value: UInt64)])] = []
        var used = [Bool](repeating: false, count: gridCount)
        var error: String?
        do {
            let metric = "keyviz_bucket_\(series.rawValue)_total"
            let cells = try await result(path: "/api/v1/query_range", params: [
                ("query", "sum by (bucket) (increase(\(selector.selecting(metric))[\(step)ms]))"), ("start", seconds(first)),
                ("end", seconds(end)), ("step", seconds(step))])
            let info = try await result(path: "/api/v1/query", params: [
                ("query", "max by (bucket, axis, start) (last_over_time(\(selector.selecting("keyviz_bucket_info"))[\(end - start + step)ms]))"),
                ("time", seconds(end))])
            var axis: [String: (axis: String, start: String)] = [:]
            for r in info { if let b = r.metric["bucket"] { axis[b] = (r.metric["axis"] ?? "", r.metric["start"] ?? b) } }
            let ordered = cells.compactMap { r -> (axis: String, start: String, bucket: String, values: [(ms: Int64, v: Double)])? in
                guard let b = r.metric["bucket"] else { return nil }
                let a = axis[b] ?? ("~", b)   // no info: after every known bucket
                return (a.axis, a.start, b, r.values ?? [])
            }.sorted { ($0.axis, $0.bucket) < ($1.axis, $1.bucket) }
            for r in ordered {
                // Only samples on the asked grid count: a column per grid point, never one per
                // timestamp an answer chose, so columns stay within maxColumns whatever it sent.
                var values: [(column: Int, value: UInt64)] = []
                var total: UInt64 = 0
                for v in r.values {
                    guard v.ms >= first, v.ms <= end, (v.ms - first) % step == 0, let count = Self.count(v.v) else { continue }
                    let j = Int((v.ms - first) / step)
                    used[j] = true
                    values.append((j, count))
                    total &+= count
                }
                rows.append((Self.key(fromLabel: r.start), total, values))
            }
        } catch let e {
            error = (e as? PeerFetchError)?.message ?? "\(e)"
            rows = []
        }
        var columnOf = [Int](repeating: -1, count: gridCount)
        var columns: [Int64] = []
        for j in 0..<gridCount where used[j] {
            columnOf[j] = columns.count
            columns.append(first + Int64(j) * step)
        }
        // A row ends where the next row with a later start begins; rows then merge to the budget
        // on their totals, and only the output rows get values.
        let starts = AdjacentRowMerger.groups(totals: rows.map(\.total), budget: KeyVizHTTPHandler.rowBudget(query: query))
        var out: [HeatMatrixRow] = []
        out.reserveCapacity(starts.count)
        for (g, firstRow) in starts.enumerated() {
            let lastRow = g + 1 < starts.count ? starts[g + 1] : rows.count
            var values = [UInt64](repeating: 0, count: columns.count)
            for k in firstRow..<lastRow { for v in rows[k].values { values[columnOf[v.column]] &+= v.value } }
            let rowStart = rows[firstRow].start
            // The group's latest start (its last, unless the labels' axis order and start keys
            // disagree): the end is after every start in the group, its own included (fuzzed:
            // Fuzz/Regressions/prometheus-answer).
            let lastStart = rows[firstRow..<lastRow].lazy.map(\.start).max { $0.lexicographicallyPrecedes($1) } ?? rowStart
            let rowEnd = rows[lastRow...].first { lastStart.lexicographicallyPrecedes($0.start) }?.start ?? []
            out.append(HeatMatrixRow(rowID: "range:\(g)", start: rowStart, end: rowEnd, aggregate: lastRow - firstRow > 1, routeIDs: [],
                                     routeIDsTruncated: true, routeCount: lastRow - firstRow, values: values))
        }
        let m = HeatMatrix(series: series, columnUnixMs: columns, rows: out, unrouted: columns.map { _ in 0 })
        var extra: [UInt8] = Array(#","scope":"prometheus","nodes":[{"node":"#.utf8)
        MatrixJSON.string("prometheus http://\(server)\(pathPrefix)", &extra)
        extra.append(contentsOf: #","ok":\#(error == nil),"error":"#.utf8)
        if let error { MatrixJSON.string(error, &extra) } else { extra.append(contentsOf: "null".utf8) }
        extra.append(contentsOf: #","columns":\#(columns.count)}]"#.utf8)
        return MatrixJSON.encode(m, generatedAt: local.generatedAt, stepMs: step, events: [], eventsDropped: 0, extra: extra)
    }

    /// A sample value as a count: `increase` is a non-negative float; NaN, infinities and
    /// negatives are no count, and a value past 2^64 - 1 is that.
    static func count(_ v: Double) -> UInt64? {
        guard v.isFinite, v > 0 else { return nil }
        let r = v.rounded()
        return r >= 18_446_744_073_709_551_615.0 ? UInt64.max : UInt64(r)
    }

    /// A bucket's `start` label as key bytes, read by the rule that wrote it (`KeyPreview`):
    /// `(begin)` is the empty key, `0x…` hex, a truncated label (`…~hash`) the bytes its head
    /// spells (every key of that bucket starts with them), anything else its text.
    static func key(fromLabel label: String) -> [UInt8] {
        KeyPreview.read(label).bytes
    }

    private func seconds(_ ms: Int64) -> String { String(format: "%.3f", Double(ms) / 1000) }

    private struct Result_ {
        var metric: [String: String] = [:]
        var values: [(ms: Int64, v: Double)]?
    }

    /// Samples kept per series: Prometheus itself refuses a range query of more points.
    static let maxSamplesPerSeries = 11_000
    /// The only labels read; others are skipped, so a series costs its samples, not its labels.
    static let labelsRead: Set<String> = ["bucket", "axis", "start"]

    private func result(path: String, params: [(String, String)]) async throws -> [Result_] {
        var q = URLComponents()
        q.queryItems = params.map { URLQueryItem(name: $0.0, value: $0.1) }
        let encoded = (q.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        let r = await fetcher.get(server, path: pathPrefix + path + "?" + encoded, timeout: timeout, maxBodyBytes: 64 << 20)
        let response: PeerResponse
        switch r {
        case .failure(let e): throw e
        case .success(let ok): response = ok
        }
        let answer: (status: String, error: String?, result: [Result_]?)
        do {
            answer = try Self.answer(response.body)
        } catch let e as PeerFetchError {
            throw e
        } catch {
            throw PeerFetchError("HTTP \(response.status): not a Prometheus API answer (\(error))")
        }
        guard answer.status == "success", let result = answer.result else {
            throw PeerFetchError("Prometheus: \(answer.error ?? "HTTP \(response.status)")")
        }
        return result
    }

    /// An API answer, `{"status", "data": {"result": [{"metric", "values" | "value"}]}, "error"}`,
    /// read with every count capped as it is read and every time checked before it becomes an
    /// integer (1e300 seconds is not an Int64; such a sample is dropped).
    private static func answer(_ body: [UInt8]) throws -> (status: String, error: String?, result: [Result_]?) {
        var r = JSONReader(body)
        var status = "", error: String?, result: [Result_]?
        let valid = UnixTime.validMilliseconds
        func sample() throws -> (ms: Int64, v: Double)? {
            var first = true
            try r.beginArray()
            guard try r.nextElement(&first) else { throw PeerFetchError("a sample is not [time, \"value\"]") }
            let t = try r.double()
            guard try r.nextElement(&first) else { throw PeerFetchError("a sample is not [time, \"value\"]") }
            let v = try r.string(maxBytes: 64)
            guard try !r.nextElement(&first) else { throw PeerFetchError("a sample is not [time, \"value\"]") }
            let ms = (t * 1000).rounded()
            guard ms.isFinite, ms >= Double(valid.lowerBound), ms <= Double(valid.upperBound) else { return nil }
            return (Int64(ms), Double(v) ?? .nan)
        }
        func series() throws -> [Result_] {
            var out: [Result_] = []
            var first = true
            try r.beginArray()
            while try r.nextElement(&first) {
                guard out.count < maxSeries else { throw PeerFetchError("Prometheus answered over \(maxSeries) series, the cap") }
                var s = Result_(), f = true
                try r.beginObject()
                while let key = try r.nextMember(&f) {
                    switch key {
                    case "metric":
                        var g = true
                        try r.beginObject()
                        while let label = try r.nextMember(&g) {
                            if labelsRead.contains(label) { s.metric[label] = try r.string(maxBytes: 65_536) } else { try r.skipValue() }
                        }
                    case "values":
                        var values: [(ms: Int64, v: Double)] = [], g = true, n = 0
                        try r.beginArray()
                        while try r.nextElement(&g) {
                            n += 1
                            guard n <= maxSamplesPerSeries else { throw PeerFetchError("a series has over \(maxSamplesPerSeries) samples") }
                            if let p = try sample() { values.append(p) }
                        }
                        s.values = values
                    case "value":
                        s.values = try sample().map { [$0] } ?? []
                    default:
                        try r.skipValue()
                    }
                }
                out.append(s)
            }
            return out
        }
        var first = true
        try r.beginObject()
        while let key = try r.nextMember(&first) {
            switch key {
            case "status": status = try r.string(maxBytes: 64)
            case "error": error = r.null() ? nil : try r.string(maxBytes: 4096)
            case "data":
                if r.null() { continue }
                var f = true
                try r.beginObject()
                while let k = try r.nextMember(&f) {
                    if k == "result" { result = try series() } else { try r.skipValue() }
                }
            default:
                try r.skipValue()
            }
        }
        try r.end()
        return (status, error, result)
    }
}
