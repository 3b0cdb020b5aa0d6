import Foundation
import KeyViz
@testable import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Testing

@Suite struct RouteChangeEventsJSONTests {
    private func matrix(_ r: KeyVizHTTPHandler, _ query: [String: String]) async throws -> [String: Any] {
        let resp = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: query))
        #expect(resp.status == 200)
        return try #require(try JSONSerialization.jsonObject(with: Data(resp.body)) as? [String: Any])
    }

    @Test func theMatrixListsTheRouteChangesInItsTimeRangeWithReadableRanges() async throws {
        let clock = ManualClock()
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let c1 = RouteCatalog.evenlySplit(count: 2, groups: 1, prefix: "k", width: 2)   // [(begin), k50), [k50, (end))
        m.apply(c1)
        let r = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m)
        clock.advance(1000); m.flush()                              // column t0+1000
        clock.advance(300)
        let c2 = try c1.splitting(2, at: Array("k75".utf8), leftID: 7, rightID: 8)
        m.apply(c2)                                                 // event at t0+1300
        clock.advance(700); m.flush()                               // column t0+2000
        clock.advance(500)
        m.apply(try c2.merging(1, 7, into: 9))                     // event at t0+2500
        clock.advance(500); m.flush()                               // column t0+3000
        let t0 = clock.now - 3000

        let all = try await matrix(r, [:])
        let events = try #require(all["events"] as? [[String: Any]])
        #expect(events.map { $0["kind"] as? String } == ["split", "merge"])
        #expect(events.map { $0["unix_ms"] as? Int64 } == [t0 + 1300, t0 + 2500])
        #expect(all["events_dropped"] as? Int == 0)
        let split = events[0]
        let before = try #require(split["before"] as? [[String: Any]]), after = try #require(split["after"] as? [[String: Any]])
        #expect(before.map { $0["route_id"] as? Int } == [2] && split["before_count"] as? Int == 1)
        #expect(after.map { $0["route_id"] as? Int } == [7, 8] && split["after_count"] as? Int == 2)
        #expect(after.map { $0["start_preview"] as? String } == ["k50", "k75"])
        #expect(after.map { $0["end_preview"] as? String } == ["k75", "(end)"])
        #expect(after.map { Data(base64Encoded: $0["start"] as! String).map(Array.init) } == [Array("k50".utf8), Array("k75".utf8)])

        // [from, to) as for the columns; the first column's window starts at t0.
        let later = try await matrix(r, ["from_unix_ms": String(t0 + 2000), "to_unix_ms": String(t0 + 3001)])
        #expect((later["events"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["merge"])
        let earlier = try await matrix(r, ["to_unix_ms": String(t0 + 2500)])
        #expect((earlier["events"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["split"])
    }
}
