import Foundation
import KeyViz
import KeyVizCluster
import KeyVizHTTPHandler
import KeyVizPrometheus
import Synchronization
import Testing

/// Answers every peer with one fixed body.
private final class OneAnswerFetcher: PeerFetcher {
    let body: [UInt8]
    let asked = Mutex<[String]>([])
    init(_ body: [UInt8]) { self.body = body }
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        asked.withLock { $0.append(path) }
        return .success(PeerResponse(status: 200, body: body))
    }
}

@Suite struct ClusterTiersTests {
    /// With history tiers a node can answer at a wider step than its peer (its finest ring is
    /// shorter, or the peer was asked for another tier): peers get `resolution_ms` passed on, and
    /// the merge uses the widest step, into which the finer columns sum exactly.
    @Test func nodesAnsweringAtDifferentStepsMergeOnTheWidest() async throws {
        let t0: Int64 = 1_800_000_000_000
        func sampler(historyColumns: Int) -> HeatMatrixSampler {
            let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: historyColumns, stripes: 1,
                                                           coarserTiers: [.init(stepMilliseconds: 10_000, columns: 10)]))
            m.apply(.evenlySplit(count: 2, groups: 1))
            for i in 1...30 {
                m.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
                m.flush(atUnixMs: t0 + Int64(i) * 1_000)
            }
            return m
        }
        let fine = sampler(historyColumns: 100)    // still holds every second
        let coarse = sampler(historyColumns: 5)    // must answer an old range from the 10 s tier
        let query = ["from_unix_ms": String(t0), "resolution_ms": "1"]
        let peerBody = await KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: coarse), matrix: coarse)
            .handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: query)).body
        let fetcher = OneAnswerFetcher(peerBody)
        let view = try ClusterView(selfName: "self:1", peers: try PeerAddress.parseList("10.0.0.2:1"), fetcher: fetcher)
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: fine), matrix: fine, cluster: view)
        var q = query
        q["scope"] = "cluster"
        let merged = try await #require(try JSONSerialization.jsonObject(with: Data(handler.handle(
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: q)).body)) as? [String: Any])
        #expect(fetcher.asked.withLock { $0 }.allSatisfy { $0.contains("resolution_ms=1") && $0.contains("from_unix_ms=\(t0)") })
        #expect(merged["step_ms"] as? Int == 10_000)
        #expect((merged["column_unix_ms"] as? [Int])?.map(Int64.init) == [t0 + 10_000, t0 + 20_000, t0 + 30_000])
        let rows = merged["rows"] as? [[String: Any]] ?? []
        let totals = (0..<3).map { j in rows.reduce(0) { $0 + (($1["values"] as? [Int])?[j] ?? 0) } }
        #expect(totals == [20, 20, 20])     // 10 writes a window on each node
    }
}
