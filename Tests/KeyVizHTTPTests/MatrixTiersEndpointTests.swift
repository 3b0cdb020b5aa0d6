import Foundation
import KeyViz
import KeyVizHTTPHandler
import KeyVizPrometheus
import Testing

@Suite struct MatrixTiersEndpointTests {
    private func get(_ r: KeyVizHTTPHandler, _ query: [String: String]) async throws -> (Int, [String: Any]) {
        let resp = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: query))
        return (resp.status, try JSONSerialization.jsonObject(with: Data(resp.body)) as? [String: Any] ?? [:])
    }

    /// `step_ms` is the step of the tier the columns come from: the finest by default, a coarser
    /// one for a range the finest ring no longer holds or for `resolution_ms`.
    @Test func theAnswerNamesTheStepOfTheTierItCameFrom() async throws {
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 5, stripes: 1,
                                                       coarserTiers: [.init(stepMilliseconds: 10_000, columns: 10)]))
        m.apply(RouteCatalog.evenlySplit(count: 2, groups: 1))
        let t0: Int64 = 1_700_000_000_000
        for i in 1...40 {
            m.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
            m.flush(atUnixMs: t0 + Int64(i) * 1_000)
        }
        let r = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m)
        let (s1, fine) = try await get(r, [:])
        #expect(s1 == 200 && fine["step_ms"] as? Int == 1_000 && (fine["column_unix_ms"] as? [Any])?.count == 5)
        let (s2, old) = try await get(r, ["from_unix_ms": String(t0)])
        #expect(s2 == 200 && old["step_ms"] as? Int == 10_000)
        #expect((old["column_unix_ms"] as? [Int])?.map(Int64.init) == [t0 + 10_000, t0 + 20_000, t0 + 30_000, t0 + 40_000])
        let values = ((old["rows"] as? [[String: Any]])?.first?["values"] as? [Int]) ?? []
        #expect(values == [10, 10, 10, 10])
        let (s3, wide) = try await get(r, ["resolution_ms": "5000"])
        #expect(s3 == 200 && wide["step_ms"] as? Int == 10_000)
        for bad in ["-1", "x", "1.5"] {
            let (s, e) = try await get(r, ["resolution_ms": bad])
            #expect(s == 400 && (e["message"] as? String)?.contains("resolution_ms") == true)
        }
    }
}
