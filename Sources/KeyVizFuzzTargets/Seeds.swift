import Foundation
import KeyViz

/// The committed seed corpora (`Fuzz/Corpus/<target>/`), made from real answers of the code
/// under test: `keyviz-fuzz --make-seeds DIR` writes them. Small on purpose: libFuzzer's
/// longest input follows the longest seed.
package enum FuzzSeeds {
    package static func all() -> [String: [(name: String, bytes: [UInt8])]] {
        [
            "peer-framing": peerFraming(),
            "peer-answer": peerAnswer(),
            "prometheus-answer": prometheusAnswer(),
            "state-file": stateFile(),
            "query": query(),
            "authorization": authorization(),
        ]
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// A small real matrix answer (the last 20 columns of a fixture peer, 4 rows).
    static var smallMatrix: [UInt8] {
        Fixtures.peerB.matrixBody(["scope": "local", "rows": "4", "from_unix_ms": String(Fixtures.baseUnixMs + Int64(Fixtures.flushes - 19) * 1000)])
    }

    static func peerFraming() -> [(name: String, bytes: [UInt8])] {
        func answer(_ caps: UInt8, _ chunking: UInt8, _ head: [String], _ body: [UInt8]) -> [UInt8] {
            [caps, chunking] + bytes(head.joined(separator: "\r\n") + "\r\n\r\n") + body
        }
        let m = smallMatrix
        // caps: bits 0-2 the body cap (7: 1 MiB, 6: 4096, 3: 16), bits 3-4 the head cap (3: 64 KiB).
        return [
            ("200-content-length", answer(0x1F, 0x03, ["HTTP/1.1 200 OK", "Content-Type: application/json; charset=utf-8",
                                                        "Cache-Control: no-store", "Content-Length: \(m.count)"], m)),
            ("200-close-delimited", answer(0x1F, 0x85, ["HTTP/1.0 200 OK", "Content-Type: application/json"], m)),
            ("404", answer(0x1E, 0x01, ["HTTP/1.1 404 Not Found", "Content-Type: text/plain; charset=utf-8", "Content-Length: 26"],
                           bytes("not found: /api/v1/nothing\n"))),
            ("401", answer(0x1E, 0x02, ["HTTP/1.1 401 Unauthorized", "WWW-Authenticate: Basic realm=\"keyviz\"", "Content-Length: 13"],
                           bytes("unauthorized\n"))),
            ("chunked", answer(0x1E, 0x04, ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], bytes("5\r\nhello\r\n0\r\n\r\n"))),
            ("two-lengths", answer(0x1E, 0x05, ["HTTP/1.1 200 OK", "Content-Length: 5", "content-length:  6 "], bytes("hello!"))),
            ("over-cap", answer(0x1B, 0x06, ["HTTP/1.1 200 OK", "Content-Length: 100"], Array(repeating: UInt8(ascii: "x"), count: 100))),
            ("trailing-bytes", answer(0x1E, 0x07, ["HTTP/1.1 200 OK", "Content-Length: 5"], bytes("hello+trailing"))),
            ("short-body", answer(0x1E, 0x08, ["HTTP/1.1 200 OK", "Content-Length: 10"], bytes("{}"))),
            ("not-http", [0x1E, 0x09] + bytes("SSH-2.0-OpenSSH_9.2\r\n\r\n")),
        ]
    }

    static func peerAnswer() -> [(name: String, bytes: [UInt8])] {
        let base = Fixtures.baseUnixMs
        return [
            ("matrix-with-merge-event", Fixtures.peerB.matrixBody(["scope": "local", "rows": "1024", "from_unix_ms": String(base + 50_000)])),
            ("matrix-coarse-tier", Fixtures.peerB.matrixBody(["scope": "local", "rows": "1024", "resolution_ms": "10000", "to_unix_ms": String(base + 50_000)])),
            ("matrix-few-rows", smallMatrix),
            ("minimal", bytes(#"{"series":"writes","step_ms":1000,"column_unix_ms":[1000],"unrouted":[0],"rows":[{"row_id":"a","start":"","end":"","route_count":1,"values":[1]}]}"#)),
        ]
    }

    /// Prometheus's answers in its own format, on the grid `PrometheusAnswerTarget.defaultQuery`
    /// asks (the real capture is `Fuzz/Corpus/prometheus-answer/real-*`, made by
    /// `Fuzz/capture-prometheus.sh`).
    static func prometheusAnswer() -> [(name: String, bytes: [UInt8])] {
        let step = PrometheusAnswerTarget.stepMs / 1000
        let first = PrometheusAnswerTarget.defaultFrom / 1000 + step
        let points = Int((PrometheusAnswerTarget.defaultTo / 1000 - first) / step) + 1
        func values(_ f: (Int) -> String) -> String {
            (0..<points).map { k in "[\(first + Int64(k) * step),\"\(f(k))\"]" }.joined(separator: ",")
        }
        let range = #"{"status":"success","data":{"resultType":"matrix","result":["#
            + #"{"metric":{"bucket":"(begin)"},"values":[\#(values { "\($0 % 3)" })]},"#
            + #"{"metric":{"bucket":"key/00000040"},"values":[\#(values { "\(Double($0) * 2.5)" })]},"#
            + #"{"metric":{"bucket":"0x6b65792f3530ff"},"values":[\#(values { $0 == 4 ? "NaN" : "1e3" })]}]}}"#
        let instant = #"{"status":"success","data":{"resultType":"vector","result":["#
            + #"{"metric":{"axis":"00","bucket":"(begin)","start":"(begin)"},"value":[\#(first + 55),"1"]},"#
            + #"{"metric":{"axis":"6b65792f3030303030303430","bucket":"key/00000040","start":"key/00000040"},"value":[\#(first + 55),"1"]},"#
            + #"{"metric":{"axis":"6b65792f3530ff","bucket":"0x6b65792f3530ff","start":"0x6b65792f3530ff"},"value":[\#(first + 55),"1"]}]}}"#
        let error = #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error"}"#
        let empty = #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#
        return [
            ("grid-default-query", bytes(range) + [0] + bytes(instant)),
            ("grid-rows-2", bytes(range) + [0] + bytes(instant) + [0] + bytes(PrometheusAnswerTarget.defaultQuery + "&rows=2&series=reads")),
            ("error", bytes(error) + [0] + bytes(error)),
            ("empty", bytes(empty) + [0] + bytes(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)),
        ]
    }

    static func stateFile() -> [(name: String, bytes: [UInt8])] {
        // A small node: 6 routes, 40 flushes (so the 10 s tier has columns), a split.
        let clock = Fixtures.ManualClock(Fixtures.baseUnixMs)
        var config = Fixtures.matrixConfiguration(clock: clock)
        config.historyColumns = 12
        let m = HeatMatrixSampler(configuration: config)
        var catalog = RouteCatalog.evenlySplit(count: 6, groups: 2, width: 4)
        m.apply(catalog)
        for k in 1...40 {
            let t = Fixtures.baseUnixMs + Int64(k) * 1000
            clock.set(t)
            if k == 20, let split = try? catalog.splitting(catalog.routes[2].id, at: Array("key/45".utf8)) {
                catalog = split
                m.apply(catalog)
            }
            for (i, r) in catalog.routes.enumerated() where (i + k) % 3 != 0 {
                m.observe(route: r.id, op: (i + k) % 2 == 0 ? .read : .write, keyLength: 8 + i, valueLength: 10 * k)
            }
            if k % 9 == 0 { m.observe(route: RouteID(77), op: .write, keyLength: 1, valueLength: 1) }
            m.flush(atUnixMs: t)
        }
        let file = MatrixHistoryCodec.encode(m.savedHistory())
        let empty = MatrixHistoryCodec.encode(MatrixHistory(tiers: [.init(stepMilliseconds: 1000, columns: [])]))
        return [
            ("small-node", file),
            ("small-node-payload", Array(file[24...])),
            ("empty-history", empty),
        ]
    }

    static func query() -> [(name: String, bytes: [UInt8])] {
        let base = Fixtures.baseUnixMs
        return [
            ("empty", []),
            ("series-rows", bytes("series=reads&rows=20")),
            ("cluster", bytes("scope=cluster&rows=5&series=write_bytes")),
            ("prometheus", bytes("scope=prometheus&from_unix_ms=\(base + 20_000)&to_unix_ms=\(base + 80_000)")),
            ("key-range", bytes("start_key=a2V5LzAwMDAwMDAw&end_key=a2V5LzUwMDAwMDAw&rows=4")),
            ("url-safe-key", bytes("start_key=a2V5LzAw-_8&end_key=&scope=cluster")),
            ("time-range", bytes("from_unix_ms=\(base + 40_000)&to_unix_ms=\(base + 70_000)&resolution_ms=10000")),
            ("hot-keys", bytes("route=5&op=write")),
            ("openmetrics", bytes("accept=application%2Fopenmetrics-text%3Bversion%3D1.0.0&x-prometheus-scrape-timeout-seconds=10")),
            ("refused", bytes("rows=-x&from_unix_ms=99999999999999999&scope=elsewhere&route=4294967296&op=delete")),
        ]
    }

    static func authorization() -> [(name: String, bytes: [UInt8])] {
        func basic(_ s: [UInt8]) -> [UInt8] { bytes("Basic " + Data(s).base64EncodedString()) }
        return [
            ("user", basic(bytes("user:s3cret pass"))),
            ("admin", basic(bytes("admin:hunter2"))),
            ("wrong-password", basic(bytes("user:secret"))),
            ("unknown-user", basic(bytes("nobody:hunter2"))),
            ("lowercase-scheme", bytes("basic " + Data("admin:hunter2".utf8).base64EncodedString())),
            ("no-colon", basic(bytes("user"))),
            ("nul-in-password", basic(bytes("user:s3cret pass") + [0] + bytes("junk"))),
            ("bearer", bytes("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x")),
        ]
    }
}
