import Foundation
import KeyViz
import KeyVizCluster
import Synchronization
import Testing

/// Answers Prometheus API paths from canned bodies, recording the queries.
private final class FakePrometheus: PeerFetcher {
    let asked = Mutex<[String]>([])
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        asked.withLock { $0.append(path) }
        let body: String
        if path.hasPrefix("/prom/api/v1/query_range?") {
            body = #"{"status":"success","data":{"resultType":"matrix","result":["#
                + #"{"metric":{"bucket":"key/5"},"values":[[100,"4.4"],[115,"10"]]},"#
                + #"{"metric":{"bucket":"(begin)"},"values":[[100,"1"],[115,"2.6"]]},"#
                + #"{"metric":{"bucket":"0x00ff"},"values":[[115,"7"]]}]}}"#
        } else if path.hasPrefix("/prom/api/v1/query?") {
            body = #"{"status":"success","data":{"resultType":"vector","result":["#
                + #"{"metric":{"bucket":"key/5","axis":"6b65792f350000000000000000000000","start":"key/5"},"value":[130,"1"]},"#
                + #"{"metric":{"bucket":"(begin)","axis":"00000000000000000000000000000000","start":"(begin)"},"value":[130,"1"]},"#
                + #"{"metric":{"bucket":"0x00ff","axis":"00ff0000000000000000000000000000","start":"0x00ff"},"value":[130,"1"]}]}}"#
        } else {
            return .success(PeerResponse(status: 404, body: Array("404 page not found".utf8)))
        }
        return .success(PeerResponse(status: 200, body: Array(body.utf8)))
    }
}

@Suite struct PrometheusViewTests {
    @Test func bucketsBecomeRowsInAxisOrderWithColumnsPerStep() async throws {
        let fake = FakePrometheus()
        let view = try PrometheusView(url: "http://127.0.0.1:9090/prom/", selector: try PrometheusSelector(parsing: #"{job="kv"}"#), stepMs: 15_000, fetcher: fake)
        let body = await view.clusterMatrix(query: ["series": "reads", "from_unix_ms": "85000", "to_unix_ms": "115000"], local: .noColumns)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(obj["scope"] as? String == "prometheus")
        #expect(obj["column_unix_ms"] as? [Int] == [100_000, 115_000])
        let rows = try #require(obj["rows"] as? [[String: Any]])
        #expect(rows.map { $0["start_preview"] as? String } == ["(begin)", "0x00ff", "key/5"])
        #expect(rows.map { $0["end_preview"] as? String } == ["0x00ff", "key/5", "(end)"])
        #expect(rows.map { $0["values"] as? [Int] } == [[1, 3], [0, 7], [4, 10]])
        let nodes = try #require(obj["nodes"] as? [[String: Any]])
        #expect(nodes.first?["ok"] as? Bool == true)
        let asked = fake.asked.withLock { $0 }
        let range = try #require(asked.first { $0.contains("query_range") }.flatMap { URLComponents(string: $0)?.queryItems })
        #expect(range.first { $0.name == "query" }?.value == #"sum by (bucket) (increase(keyviz_bucket_reads_total{job="kv"}[15000ms]))"#)
        let info = try #require(asked.first { !$0.contains("query_range") }.flatMap { URLComponents(string: $0)?.queryItems })
        #expect(info.first { $0.name == "query" }?.value?.contains(#"last_over_time(keyviz_bucket_info{job="kv"}["#) == true)
        #expect(range.first { $0.name == "step" }?.value == "15.000")
        #expect(range.first { $0.name == "start" }?.value == "100.000" && range.first { $0.name == "end" }?.value == "115.000")
    }

    @Test func anUnreachableOrFailingPrometheusIsReportedNotFatal() async throws {
        let fake = FakePrometheus()
        let view = try PrometheusView(url: "http://127.0.0.1:9090/elsewhere", selector: .everything, fetcher: fake)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(await view.clusterMatrix(query: [:], local: .noColumns))) as? [String: Any])
        let node = try #require((obj["nodes"] as? [[String: Any]])?.first)
        #expect(node["ok"] as? Bool == false && (node["error"] as? String)?.contains("404") == true)
        #expect((obj["rows"] as? [Any])?.isEmpty == true)
        #expect(throws: ClusterSettingError.self) { try PrometheusView(url: "https://127.0.0.1:9090", selector: .everything) }
        #expect(throws: ClusterSettingError.self) { try PrometheusView(url: "http://127.0.0.1", selector: .everything) }
    }

    /// Selectors are parsed once, written back in one spelling, and refused with the reason.
    @Test func selectorsParseToOneSpellingOrSayWhy() async throws {
        #expect(try PrometheusSelector(parsing: #" { job = "kv" , instance=~"10\\.0\\..*", env!="dev",x!~"a\"b" } "#).description
                == #"{job="kv",instance=~"10\\.0\\..*",env!="dev",x!~"a\"b"}"#)
        #expect(try PrometheusSelector(parsing: "{}") == .everything)
        #expect(try PrometheusSelector(parsing: #"{job="kv",}"#).matchers.count == 1)
        #expect(PrometheusSelector.everything.selecting("m") == "m{}")
        for bad in ["", "job=\"kv\"", "{job=kv}", "{job=\"kv\"", "{1job=\"x\"}", "{job==\"x\"}", "{job=\"x\"} extra", "{job=\"x\" env=\"y\"}", "{job=\"\\q\"}"] {
            #expect(throws: PrometheusSelectorError.self, "\(bad)") { try PrometheusSelector(parsing: bad) }
        }
    }
}
