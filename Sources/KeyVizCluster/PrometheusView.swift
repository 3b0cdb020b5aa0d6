import Foundation
import KeyViz
import KeyVizHTTPHandler

/// The heatmap read from Prometheus (`GET /api/v1/keyviz/matrix?scope=prometheus`): the bucket
/// counters of every scraped node, summed by bucket, as a matrix the page draws like its own.
///
/// Two queries over `[start, end]` at `step`:
/// `sum by (bucket) (increase(keyviz_bucket_<series>_total[<step>]))` (`query_range`) for the
/// cells, and `max by (bucket, axis, start) (last_over_time(keyviz_bucket_info[<span>]))` at
/// `end` for the rows' order (`axis`) and start keys (`start`). Rows are buckets in axis order;
/// a row ends where the next starts. Cells are `increase` values rounded to integers, so they
/// carry Prometheus's extrapolation: close to, not exactly, the nodes' counts.
public final class PrometheusView: ClusterMatrixSource {
    public let server: PeerAddress
    public let pathPrefix: String
    public let stepMs: Int64
    public let timeoutMs: Int
    private let fetcher: any PeerFetcher

    /// - Parameters:
    ///   - url: `http://host:port[/prefix]` of the Prometheus server (plain HTTP).
    ///   - stepMs: the query step (clamped 1 s…1 h); a column per step. At least twice the
    ///     scrape interval, or `increase` has too few samples.
    ///   - timeoutMs: per query, connect to last byte.
    ///   - fetcher: the transport (``HTTPPeerFetcher`` by default).
    public init(url: String, stepMs: Int64 = 15_000, timeoutMs: Int = 5000, fetcher: any PeerFetcher = HTTPPeerFetcher()) throws(PeerAddressError) {
        guard url.hasPrefix("http://") else { throw PeerAddressError(text: url, reason: "want http://host:port (https is not supported)") }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        server = try PeerAddress(parsing: String(rest[..<slash]))
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        pathPrefix = prefix
        self.stepMs = min(3_600_000, max(1000, stepMs))
        self.timeoutMs = min(60_000, max(1, timeoutMs))
        self.fetcher = fetcher
    }

    public func clusterMatrix(query: [String: String], localBody: [UInt8]) -> [UInt8] {
        let series = query["series"].flatMap(Series.init(wireName:)) ?? .writes
        let local = try? NodeMatrix.decode(localBody)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let end = query["to_unix_ms"].flatMap(Int64.init).flatMap { $0 > 0 ? $0 : nil } ?? now
        var start = query["from_unix_ms"].flatMap(Int64.init).flatMap { $0 > 0 ? $0 : nil }
            ?? local?.columnUnixMs.first.map { $0 - (local?.stepMs ?? 0) } ?? (end - 15 * 60_000)
        // At most 1 440 columns: a wider range gets a coarser step.
        let step = max(stepMs, (end - start + 1439) / 1440)
        start = min(start, end - step)
        var rows: [HeatMatrixRow] = []
        var columns: [Int64] = []
        var error: String?
        do {
            let metric = "keyviz_bucket_\(series.rawValue)_total"
            let cells = try result(path: "/api/v1/query_range", params: [
                ("query", "sum by (bucket) (increase(\(metric)[\(step)ms]))"), ("start", seconds(start + step)),
                ("end", seconds(end)), ("step", seconds(step))])
            let info = try result(path: "/api/v1/query", params: [
                ("query", "max by (bucket, axis, start) (last_over_time(keyviz_bucket_info[\(end - start + step)ms]))"), ("time", seconds(end))])
            var axis: [String: (axis: String, start: String)] = [:]
            for r in info { if let b = r.metric["bucket"] { axis[b] = (r.metric["axis"] ?? "", r.metric["start"] ?? b) } }
            var times = Set<Int64>()
            for r in cells { for v in r.values ?? [] { times.insert(v.ms) } }
            columns = times.sorted()
            var index: [Int64: Int] = [:]
            for (j, t) in columns.enumerated() { index[t] = j }
            let ordered = cells.compactMap { r -> (axis: String, start: String, bucket: String, values: [(ms: Int64, v: Double)])? in
                guard let b = r.metric["bucket"] else { return nil }
                let a = axis[b] ?? ("~", b)   // no info: after every known bucket
                return (a.axis, a.start, b, r.values ?? [])
            }.sorted { ($0.axis, $0.bucket) < ($1.axis, $1.bucket) }
            let starts = ordered.map { Self.key(fromLabel: $0.start) }
            for (i, r) in ordered.enumerated() {
                let end = starts[(i + 1)...].first { starts[i].lexicographicallyPrecedes($0) } ?? []
                var values = [UInt64](repeating: 0, count: columns.count)
                for v in r.values where v.v.isFinite && v.v > 0 { values[index[v.ms]!] = UInt64(v.v.rounded()) }
                rows.append(HeatMatrixRow(rowID: "range:\(i)", start: starts[i], end: end, aggregate: false, routeIDs: [],
                                          routeIDsTruncated: true, routeCount: 1, values: values))
            }
        } catch let e {
            error = (e as? PeerFetchError)?.message ?? "\(e)"
        }
        let starts = AdjacentRowMerger.groups(totals: rows.map(\.total), budget: KeyVizHTTPHandler.rowBudget(query: query))
        var out: [HeatMatrixRow] = []
        for (g, first) in starts.enumerated() {
            let last = g + 1 < starts.count ? starts[g + 1] : rows.count
            var row = rows[first]
            for k in (first + 1)..<last {
                row.aggregate = true
                row.routeCount += 1
                row.end = rows[k].end
                for (j, v) in rows[k].values.enumerated() { row.values[j] &+= v }
            }
            row.rowID = "range:\(g)"
            out.append(row)
        }
        let m = HeatMatrix(series: series, columnUnixMs: columns, rows: out, unrouted: columns.map { _ in 0 })
        var extra: [UInt8] = Array(#","scope":"prometheus","nodes":[{"node":"#.utf8)
        MatrixJSON.string("prometheus http://\(server)\(pathPrefix)", &extra)
        extra.append(contentsOf: #","ok":\#(error == nil),"error":"#.utf8)
        if let error { MatrixJSON.string(error, &extra) } else { extra.append(contentsOf: "null".utf8) }
        extra.append(contentsOf: #","columns":\#(columns.count)}]"#.utf8)
        return MatrixJSON.encode(m, generatedAt: local?.generatedAt ?? "", stepMs: step, events: [], eventsDropped: 0, extra: extra)
    }

    /// A bucket's `start` label as key bytes: `(begin)` is the empty key, `0x…` hex, else the text.
    static func key(fromLabel label: String) -> [UInt8] {
        if label == KeyPreview.keySpaceStart { return [] }
        if label.hasPrefix("0x") {
            let hex = Array(label.utf8.dropFirst(2))
            let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { i in UInt8(String(decoding: hex[i..<(i + 2)], as: UTF8.self), radix: 16) }
            if hex.count % 2 == 0, bytes.count == hex.count / 2 { return bytes }
        }
        return Array(label.utf8)
    }

    private func seconds(_ ms: Int64) -> String { String(format: "%.3f", Double(ms) / 1000) }

    private struct Series_: Decodable {
        var metric: [String: String]
        var values: [[Sample]]?
        var value: [Sample]?
    }

    /// A sample's half: Prometheus writes `[<unix seconds>, "<value>"]`.
    private enum Sample: Decodable {
        case time(Double)
        case text(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { self = .time(d) } else { self = .text(try c.decode(String.self)) }
        }
    }

    private struct Answer: Decodable {
        struct Data: Decodable { var result: [Series_] }
        var status: String
        var data: Data?
        var error: String?
    }

    private struct Result_ {
        var metric: [String: String]
        var values: [(ms: Int64, v: Double)]?
    }

    private func result(path: String, params: [(String, String)]) throws -> [Result_] {
        var q = URLComponents()
        q.queryItems = params.map { URLQueryItem(name: $0.0, value: $0.1) }
        let encoded = (q.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        let r = fetcher.get(server, path: pathPrefix + path + "?" + encoded, timeoutMs: timeoutMs, maxBodyBytes: 64 << 20)
        let response: PeerResponse
        switch r {
        case .failure(let e): throw e
        case .success(let ok): response = ok
        }
        guard let a = try? JSONDecoder().decode(Answer.self, from: Foundation.Data(response.body)) else {
            throw PeerFetchError("HTTP \(response.status): not a Prometheus API answer")
        }
        guard a.status == "success", let data = a.data else { throw PeerFetchError("Prometheus: \(a.error ?? "HTTP \(response.status)")") }
        func pair(_ s: [Sample]) -> (ms: Int64, v: Double)? {
            guard s.count == 2, case .time(let t) = s[0], case .text(let v) = s[1] else { return nil }
            return (Int64((t * 1000).rounded()), Double(v) ?? .nan)
        }
        return data.result.map { s in
            Result_(metric: s.metric, values: s.values.map { $0.compactMap(pair) } ?? s.value.flatMap(pair).map { [$0] })
        }
    }
}
