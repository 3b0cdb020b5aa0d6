import Foundation
import KeyViz
@testable import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Testing

/// `GET /api/v1/keyviz/hot-keys`: a route's hottest keys with estimated share and error bound.
@Suite struct HotKeysEndpointTests {
    private func handler(hotKeys: Bool = true) -> (KeyVizHTTPHandler, HotKeySampler<PrometheusSampler<HeatMatrixSampler>>) {
        let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000))
        let prometheus = PrometheusSampler(wrapping: matrix)
        let hot = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: 1, topKeys: 3, windowMilliseconds: 0))   // no halving: a slow run must not change the counts
        hot.apply(.evenlySplit(count: 2, groups: 1))
        return (KeyVizHTTPHandler(metrics: prometheus, matrix: matrix, hotKeys: hotKeys ? hot : nil), hot)
    }

    private func get(_ h: KeyVizHTTPHandler, _ query: [String: String]) async throws -> (Int, [String: Any]) {
        let r = await h.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/hot-keys", query: query))
        return (r.status, try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] ?? [:])
    }

    @Test func aRoutesHotKeysComeHottestFirstWithShareAndBound() async throws {
        let (h, hot) = handler()
        for (key, n) in [("key/a", 6), ("key/b", 3), ("key/c", 1)] {
            for _ in 0..<n { hot.observe(route: 1, op: .write, key: Array(key.utf8), valueLength: 0) }
        }
        hot.observe(route: 2, op: .read, key: Array("other".utf8), valueLength: 0)
        let (status, obj) = try await get(h, ["route": "1"])
        #expect(status == 200)
        #expect(obj["route_id"] as? Int == 1 && obj["sample_every"] as? Int == 1)
        let keys = try #require(obj["keys"] as? [[String: Any]])
        #expect(keys.map { $0["key_preview"] as? String } == ["key/a", "key/b", "key/c"])
        #expect(keys.first?["share"] as? Double == 0.6)
        #expect(keys.first?["share_error_bound"] as? Double == 0)
        #expect(keys.first?["estimated_operations"] as? Int == 6)
        #expect(keys.first?["key"] as? String == Data("key/a".utf8).base64EncodedString())
        // Across routes, one op: route 2's read only.
        let (_, reads) = try await get(h, ["op": "read"])
        #expect((reads["keys"] as? [[String: Any]])?.map { $0["key_preview"] as? String } == ["other"])
        #expect(reads["route_id"] is NSNull)
    }

    @Test func badParametersAre400AndNoSamplerAnswersNoKeys() async throws {
        let (h, _) = handler()
        await #expect(try get(h, ["op": "delete"]).0 == 400)
        await #expect(try get(h, ["route": "-1"]).0 == 400)
        await #expect(try get(h, ["route": "4294967296"]).0 == 400)
        await #expect(try get(h, ["route": "9"]).0 == 200)   // a route with no sketch: no keys
        let (off, _) = handler(hotKeys: false)
        let (status, obj) = try await get(off, [:])
        #expect(status == 200 && obj["sample_every"] as? Int == 0 && (obj["keys"] as? [Any])?.isEmpty == true)
    }
}
