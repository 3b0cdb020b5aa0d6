import Foundation
import KeyViz
import KeyVizCluster
import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Testing

/// The numbered reproductions of "nothing from outside the process can crash a node or make it
/// allocate without bound": each pins that the input gets a clear refusal (a failed-peer entry,
/// a 400, a set-aside file) and no trap, with memory bounded by configuration.
@Suite struct HostileInputTests {
    private static let matrixPath = "/api/v1/keyviz/matrix"

    private func fetch(_ answer: [UInt8]?, maxBodyBytes: Int = 1 << 20, timeout: Duration = .seconds(3)) async throws -> Result<PeerResponse, PeerFetchError> {
        let peer = try HostilePeer(answer: answer)
        defer { peer.stop() }
        return await HTTPPeerFetcher().get(peer.address, path: Self.matrixPath, timeout: timeout, maxBodyBytes: maxBodyBytes)
    }

    private func failure(_ r: Result<PeerResponse, PeerFetchError>) -> String? {
        if case .failure(let e) = r { return e.message }
        return nil
    }

    // 1. A peer's framing: a negative, signed, huge, repeated or unfinished length is an error.
    @Test(arguments: [
        ("Content-Length: -1", "is not a length"),
        ("Content-Length: +5", "is not a length"),
        ("Content-Length: 99999999999999999999", "is not a length"),
        ("Content-Length: 5\r\nContent-Length: 6", "two different Content-Length"),
        ("Content-Length: 2000000", "over the cap"),
        ("Transfer-Encoding: chunked", "transfer-encoding"),
    ])
    func aPeersBadFramingIsAFailedPeerNotACrash(header: String, says: String) async throws {
        let r = try await fetch(rawAnswer(["HTTP/1.1 200 OK", header], body: "{}"))
        let message = try #require(failure(r), "\(header) was accepted")
        #expect(message.contains(says), "\(header): \(message)")
    }

    @Test func aPeerThatIsNotHTTPOrEndsEarlyIsAFailedPeer() async throws {
        await #expect(failure(try fetch(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)))?.contains("not an HTTP answer") == true)
        await #expect(failure(try fetch(Array("HTTP/1.1 200 OK\r\nContent-Length: 10".utf8)))?.contains("before the headers ended") == true)
        await #expect(failure(try fetch(rawAnswer(["HTTP/1.1 200 OK", "Content-Length: 10"], body: "{}")))?.contains("2 of 10") == true)
        await #expect(failure(try fetch(Array(repeating: UInt8(ascii: "x"), count: 70_000)))?.contains("headers over") == true)
        // A body without a length ends at the close; one over the cap is refused.
        await #expect(try fetch(rawAnswer(["HTTP/1.0 200 OK"], body: "abc")).get() == PeerResponse(status: 200, body: Array("abc".utf8)))
        await #expect(failure(try fetch(rawAnswer(["HTTP/1.0 200 OK"], body: String(repeating: "a", count: 5000)), maxBodyBytes: 4096))?.contains("over the cap") == true)
    }

    @Test func theFramingReaderGivesTheSameAnswerWhateverTheChunking() async {
        let bytes = rawAnswer(["HTTP/1.1 404 Not Found", "content-length:  5 ", "X: y"], body: "hello+trailing")
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var reader = PeerResponseReader(maxBodyBytes: 100)
            var rest = bytes[...]
            var outcome: PeerResponse?
            while !rest.isEmpty, outcome == nil {
                let n = 1 + Int(rng.next() % 9)
                if case .done(let r) = reader.append(rest.prefix(n)) { outcome = r }
                rest = rest.dropFirst(n)
            }
            #expect(outcome == PeerResponse(status: 404, body: Array("hello".utf8)))
        }
    }

    // 2. Route counts from outside: refused at decode, saturating in the merge.
    @Test func routeCountsPastTheRouteIdSpaceAreRefusedAndMergesSaturate() async throws {
        let body = Array(#"{"series":"writes","step_ms":1000,"column_unix_ms":[1000],"unrouted":[0],"rows":[{"row_id":"a","start":"","end":"","route_count":9223372036854775807,"values":[1]}]}"#.utf8)
        #expect(throws: NodeMatrix.DecodeError.self) { try NodeMatrix.decode(body) }
        let negative = Array(#"{"series":"writes","step_ms":1000,"column_unix_ms":[1000],"unrouted":[0],"rows":[{"row_id":"a","start":"","end":"","route_count":-9223372036854775808,"values":[1]}]}"#.utf8)
        #expect(throws: NodeMatrix.DecodeError.self) { try NodeMatrix.decode(negative) }
        // The merger itself (a host may build NodeMatrix values by hand) saturates instead of trapping.
        let huge = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [1000], unrouted: [0],
                              rows: [.init(start: [], end: [5], routeCount: .max, values: [1]), .init(start: [1], end: [6], routeCount: .max, values: [2]),
                                     .init(start: [7], end: [], routeCount: .max, values: [3])])
        let m = ClusterMatrixMerger.merge([("a", huge), ("b", huge)], series: .writes, stepMs: 1000, rows: 1)
        let row = try #require(m.matrix.rows.count == 1 ? m.matrix.rows.first : nil)
        #expect(row.routeCount == Int.max)
        #expect(row.values == [12])
    }

    // 3, 4. Prometheus sample values and times of any size.
    @Test(arguments: [
        (#"[115,"1e300"]"#, [UInt64.max]), (#"[115,"NaN"]"#, []), (#"[115,"+Inf"]"#, []), (#"[115,"-1"]"#, []),
        (#"[115,"18446744073709551616"]"#, [UInt64.max]), (#"[1e300,"5"]"#, []), (#"[-1e300,"5"]"#, []), (#"[115.0004,"5"]"#, [5]),
    ])
    func prometheusSamplesOfAnySizeGiveACountOrNone(sample: String, values: [UInt64]) async throws {
        let fake = CannedPrometheus(rangeResult: #"[{"metric":{"bucket":"a"},"values":[\#(sample)]}]"#)
        let view = try PrometheusView(url: "http://127.0.0.1:1", selector: .everything, stepMs: 15_000, fetcher: fake)
        let obj = try json(await view.clusterMatrix(query: ["from_unix_ms": "85000", "to_unix_ms": "115000"], local: .noColumns))
        let rows = obj["rows"] as? [[String: Any]] ?? []
        #expect((obj["nodes"] as? [[String: Any]])?.first?["ok"] as? Bool == true)
        let got = rows.flatMap { ($0["values"] as? [NSNumber] ?? []).map(\.uint64Value) }.filter { $0 > 0 }
        #expect(got == values, "\(sample)")
    }

    // 5. One client request with an extreme time range.
    @Test func anExtremeTimeRangeIsA400OrClampedNeverATrap() async throws {
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000))
        m.apply(.evenlySplit(count: 4, groups: 1))
        m.flush(atUnixMs: 1_800_000_000_000)
        let view = try PrometheusView(url: "http://127.0.0.1:1", selector: .everything, fetcher: CannedPrometheus(rangeResult: "[]"))
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m, prometheus: view)
        for query in [["to_unix_ms": "9223372036854775807"], ["to_unix_ms": "9223372036854775807", "from_unix_ms": "1"],
                      ["from_unix_ms": "9223372036854775807"], ["to_unix_ms": "253402300800000"]] {
            let r = await handler.handle(KeyVizHTTPRequest(method: "GET", path: Self.matrixPath, query: query.merging(["scope": "prometheus"]) { a, _ in a }))
            #expect(r.status == 400, "\(query)")
        }
        // The view itself clamps what a host hands it directly.
        for to in ["9223372036854775807", "253402300799999"] {
            let obj = try json(await view.clusterMatrix(query: ["to_unix_ms": to, "from_unix_ms": "1"], local: .noColumns))
            #expect((obj["step_ms"] as? Int ?? 0) > 0)
        }
        let top = await handler.handle(KeyVizHTTPRequest(method: "GET", path: Self.matrixPath, query: ["scope": "prometheus", "to_unix_ms": "253402300799999", "from_unix_ms": "1"]))
        #expect(top.status == 200)
    }

    // 6. A column stamped at the edge of Int64 (a host's flush or a restored file) does not trap a request.
    @Test func aColumnAtTheEdgeOfTimeDoesNotTrapTheMatrixAPI() async throws {
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000))
        m.apply(.evenlySplit(count: 4, groups: 1))
        m.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
        m.flush(atUnixMs: .min)
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m)
        #expect(await handler.handle(KeyVizHTTPRequest(method: "GET", path: Self.matrixPath, query: ["rows": "400"])).status == 200)
        // Its saved history is refused at load, so it cannot come back after a restart.
        #expect(throws: MatrixHistoryCodecError.self) { try MatrixHistoryCodec.decode(MatrixHistoryCodec.encode(m.savedHistory())) }
    }

    // 7. A peer answer wider than any node keeps is refused before a grid is allocated; nodes
    //    far apart in time merge on a coarser step, within the column cap.
    @Test func aWidePeerAnswerIsRefusedAndAWideGridIsCoarsened() async throws {
        let n = HeatMatrixSamplerConfiguration.maxHistoryColumns + 1
        var body = #"{"series":"writes","step_ms":1,"column_unix_ms":["#
        body += (1...n).map(String.init).joined(separator: ",")
        body += #"],"unrouted":[],"rows":[]}"#
        #expect { try NodeMatrix.decode(Array(body.utf8)) } throws: { ($0 as? NodeMatrix.DecodeError)?.message.contains("over the cap") == true }
        let spread = (0..<20_000).map { Int64($0) * 7_919_000 }
        let wide = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: spread, unrouted: spread.map { _ in 1 },
                              rows: [.init(start: [], end: [], routeCount: 1, values: spread.map { _ in 2 })])
        let m = ClusterMatrixMerger.merge([("a", wide)], series: .writes, stepMs: 1000, rows: 1024, maxColumns: 4096)
        #expect(m.matrix.columnUnixMs.count <= 4096)
        #expect(m.stepMs > 1000 && m.stepMs % 1000 == 0)
        let rowTotals: [UInt64] = m.matrix.rows.map { $0.values.reduce(0, &+) }
        let unroutedTotal: UInt64 = m.matrix.unrouted.reduce(0, &+)
        #expect(rowTotals == [40_000])
        #expect(unroutedTotal == 20_000)
    }

    // 8. Many Prometheus series at distinct timestamps: columns are the asked grid, rows the budget.
    @Test func manyPrometheusSeriesAtDistinctTimesStayWithinTheGridAndBudget() async throws {
        let series = (0..<20_000).map { i in #"{"metric":{"bucket":"b\#(i)"},"values":[[\#(100 + Double(i) / 1000),"1"],[115,"1"]]}"# }
        let view = try PrometheusView(url: "http://127.0.0.1:1", selector: .everything, stepMs: 15_000, fetcher: CannedPrometheus(rangeResult: "[" + series.joined(separator: ",") + "]"))
        let obj = try json(await view.clusterMatrix(query: ["from_unix_ms": "85000", "to_unix_ms": "115000", "rows": "100"], local: .noColumns))
        #expect(obj["column_unix_ms"] as? [Int] == [100_000, 115_000])
        let rows = try #require(obj["rows"] as? [[String: Any]])
        #expect(rows.count == 100)
        let total: Int = rows.reduce(0) { sum, row in sum + ((row["values"] as? [Int]) ?? []).reduce(0, +) }
        // Every series at 115.000; b0 also at 100.000 and b15000 at 115.000 again; the rest are off the grid.
        #expect(total == 20_000 + 2)
    }

    private func json(_ body: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }
}

/// Answers `query_range` with `rangeResult` (a JSON array) and `query` with no series.
private final class CannedPrometheus: PeerFetcher {
    let rangeResult: String
    init(rangeResult: String) { self.rangeResult = rangeResult }
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        let result = path.contains("query_range") ? rangeResult : "[]"
        return .success(PeerResponse(status: 200, body: Array(#"{"status":"success","data":{"resultType":"matrix","result":\#(result)}}"#.utf8)))
    }
}

@Suite struct PeerAddressResolutionTests {
    /// `localhost` may resolve to ::1 first while a peer listens on 127.0.0.1 only: every
    /// resolved address is tried, so the peer answers whichever order the resolver gives.
    @Test func aPeerNamedLocalhostIsReachedOnWhicheverAddressItListens() async throws {
        let peer = try HostilePeer(answer: rawAnswer(["HTTP/1.0 200 OK", "Content-Length: 2"], body: "{}"))
        defer { peer.stop() }
        let r = await HTTPPeerFetcher().get(PeerAddress(host: "localhost", port: peer.port), path: "/", timeout: .milliseconds(3000), maxBodyBytes: 1024)
        #expect(try r.get() == PeerResponse(status: 200, body: Array("{}".utf8)))
    }
}
