import Foundation
import KeyViz
@testable import KeyVizHTTP
@testable import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing
import KeyVizTestSupport

@Suite struct RouterTests {
    private func router() -> (KeyVizHTTPHandler, HeatMatrixSampler) {
        let m = HeatMatrixSampler()
        m.apply(RouteCatalog.evenlySplit(count: 10, groups: 1))
        let p = PrometheusSampler(wrapping: m)
        p.apply(RouteCatalog.evenlySplit(count: 10, groups: 1))
        return (KeyVizHTTPHandler(metrics: p, matrix: m), m)
    }

    @Test func unknownPathsAre404AndOtherMethods405WithAllow() async {
        let (r, _) = router()
        #expect(await r.handle(KeyVizHTTPRequest(method: "GET", path: "/nope")).status == 404)
        let post = await r.handle(KeyVizHTTPRequest(method: "POST", path: "/metrics"))
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
        #expect(await r.handle(KeyVizHTTPRequest(method: "DELETE", path: "/healthz")).status == 405)
    }

    @Test func healthAndIndexAnswer() async {
        let (r, _) = router()
        let h = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/healthz"))
        #expect(h.status == 200 && String(decoding: h.body, as: UTF8.self) == "ok\n")
        let i = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/"))
        #expect(i.header("Content-Type") == "text/html; charset=utf-8")
        for link in ["/metrics", "/api/v1/keyviz/matrix", "/healthz"] { #expect(String(decoding: i.body, as: UTF8.self).contains("href=\"\(link)")) }
    }

    @Test func metricsContentTypeFollowsAccept() async {
        let (r, _) = router()
        let om = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics", headers: ["accept": prometheusAccept]))
        #expect(om.header("Content-Type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(String(decoding: om.body, as: UTF8.self).hasSuffix("# EOF\n"))
        let text = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics", headers: ["accept": "*/*"]))
        #expect(text.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
    }

    @Test func matrixRejectsUnknownSeriesAndBadNumbersWithJSONErrors() async {
        let (r, _) = router()
        let bad = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["series": "nope"]))
        #expect(bad.status == 400)
        #expect(bad.header("Content-Type") == "application/json; charset=utf-8")
        let json = try? JSONSerialization.jsonObject(with: Data(bad.body)) as? [String: String]
        #expect(json?["code"] == "invalid_query")
        #expect(await r.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["from_unix_ms": "x"])).status == 400)
        for rows in ["1.5", "12abc", "-", "0x10"] {
            #expect(await r.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["rows": rows])).status == 400, "rows=\(rows)")
        }
    }

    @Test func matrixServesRowsInKeyOrderClampedToTheBudget() async throws {
        let (r, m) = router()
        m.observe(route: 3, op: .write, keyLength: 4, valueLength: 4)
        m.flush()
        // Documented: 1…1024; absent, 0, negative or larger (however many digits) mean 1024.
        for (rows, want) in [("2", 2), ("0", 10), ("-4", 10), ("5000", 10), ("99999999999999999999999", 10), ("-99999999999999999999999", 10)] {
            let resp = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["series": "writes", "rows": rows]))
            #expect(resp.status == 200)
            #expect(resp.header("Cache-Control") == "no-store")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(resp.body)) as? [String: Any])
            let rowList = try #require(obj["rows"] as? [[String: Any]])
            #expect(rowList.count == want)
            #expect((obj["column_unix_ms"] as? [Int])?.count == 1)
            #expect(obj["series"] as? String == "writes")
            let total = rowList.reduce(0) { $0 + (($1["values"] as? [Int])?.reduce(0, +) ?? 0) }
            #expect(total == 1)
            let starts = rowList.map { Data(base64Encoded: $0["start"] as! String)! }
            #expect(starts == starts.sorted { $0.lexicographicallyPrecedes($1) })
        }
    }

    @Test func badAuthFilesAreRefusedWithTheLine() async {
        #expect(throws: ServerError.badAuthFile("f", line: 2, "hash must be bcrypt ($2b$), SHA-256-crypt ($5$), SHA-512-crypt ($6$) or yescrypt ($y$)")) {
            try BasicAuthUsers(fileContents: "# c\nuser:plaintext\n", path: "f")
        }
        #expect(throws: ServerError.badAuthFile("f", line: 0, "no users")) { try BasicAuthUsers(fileContents: "\n# none\n", path: "f") }
    }

    @Test func listenAddressesParseOrSayWhy() async throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:9477") == .default)
        #expect(try ListenAddress(parsing: "localhost:0") == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(try ListenAddress(parsing: "[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(throws: ServerError.self) { try ListenAddress(parsing: "127.0.0.1") }
        #expect(throws: ServerError.self) { try ListenAddress(parsing: "127.0.0.1:99999") }
        #expect(throws: ServerError.self) { try ListenAddress(parsing: ":80") }
    }

    @Test func aRenderSlowerThanTheScrapeTimeoutGets503() async {
        let slow = KeyVizHTTPHandler(metrics: FixedExposition(body: "x_total 1\n", delaySeconds: 0.3), matrix: nil)
        let late = await slow.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics", headers: ["x-prometheus-scrape-timeout-seconds": "0.1"]))
        #expect(late.status == 503)
        let inTime = await slow.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics", headers: ["x-prometheus-scrape-timeout-seconds": "10"]))
        #expect(inTime.status == 200)
        let unparsable = await slow.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics", headers: ["x-prometheus-scrape-timeout-seconds": "soon"]))
        #expect(unparsable.status == 200)
    }

    @Test func httpSelfMetricsCountRequestsByHandlerAndCode() async {
        let (r, _) = router()
        _ = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/healthz"))
        _ = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/zzz"))
        let body = String(decoding: await r.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics")).body, as: UTF8.self)
        #expect(body.contains(#"keyviz_http_requests_total{code="200",handler="healthz"} 1"#))
        #expect(body.contains(#"keyviz_http_requests_total{code="404",handler="other"} 1"#))
        #expect(body.contains(#"keyviz_http_requests_total{code="503",handler="metrics"} 0"#))
        #expect(body.contains(#"keyviz_http_request_duration_seconds_count{handler="healthz"} 1"#))
        #expect(body.contains("keyviz_http_requests_in_flight 1"))
    }
}

@Suite struct RenderCoalescerTests {
    /// Counts renders and stamps each body with the observations seen so far.
    final class CountingExposition: MetricsExposition {
        let observed = Mutex<Int>(0)
        func render(format: ExpositionFormat) -> [UInt8] {
            let n = observed.withLock { $0 }
            Thread.sleep(forTimeInterval: 0.05)
            return Array("x_total \(n)\n".utf8)
        }
        func register(_ collector: any MetricsCollector) {}
    }
}

@Suite struct BasicAuthUsersTests {
    @Test func usersOfMixedSchemesEachVerifyAndUnknownUsersNever() async throws {
        // `b` bcrypt cost 8 / `s3cret pass`; `s` SHA-256-crypt / `secret`.
        let users = try BasicAuthUsers(fileContents: """
            b:$2b$08$v1hcQXJONFko260e2i./BeSu8/Z0g73pQnMLQZvULwpenjEnha8We
            s $5$yb5DqO4m4ySCvjme$aH5u41a6lIQRQ6pwpTKABayWwDpUgdKlbe6THVJrcB1
            """)
        #expect(users.allows(authorization: basic("b", "s3cret pass")))
        #expect(users.allows(authorization: basic("s", "secret")))
        #expect(!users.allows(authorization: basic("b", "secret")))
        #expect(!users.allows(authorization: basic("s", "s3cret pass")))
        for name in ["nobody", "x", "B", ""] { #expect(!users.allows(authorization: basic(name, "secret"))) }
        #expect(!users.allows(authorization: nil))
        #expect(!users.allows(authorization: "Bearer abc"))
    }

    @Test func aDummyHasTheSchemeAndCostOfTheUsersHash() async {
        #expect(BasicAuthUsers.schemeAndCost("$2b$08$v1hcQXJONFko260e2i./BeSu8/Z0g73pQnMLQZvULwpenjEnha8We") == "$2b$08")
        #expect(BasicAuthUsers.schemeAndCost("$5$rounds=9000$salt$hash") == "$5$rounds=9000")
        #expect(BasicAuthUsers.schemeAndCost("$5$salt$hash") == "$5")
        #expect(BasicAuthUsers.schemeAndCost("$y$j9T$salt$hash") == "$y$j9T")
        let dummy = BasicAuthUsers.crypt("anything", setting: "$2b$08$v1hcQXJONFko260e2i./BeSu8/Z0g73pQnMLQZvULwpenjEnha8We")
        #expect(dummy?.hasPrefix("$2b$08$v1hcQXJONFko260e2i./") == true)
        #expect(dummy != "$2b$08$v1hcQXJONFko260e2i./BeSu8/Z0g73pQnMLQZvULwpenjEnha8We")
    }
}

/// One list of endpoints: each answers at its path with GET and HEAD and is counted under its
/// own handler label; a path that is not one of them is a 404 counted as `other`.
@Suite struct EndpointListTests {
    @Test func everyEndpointAnswersAtItsPathAndIsCountedUnderItsLabel() async {
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false)),
                                        matrix: HeatMatrixSampler())
        for endpoint in KeyVizEndpoint.allCases {
            #expect(KeyVizEndpoint(path: endpoint.path) == endpoint)
            for method in KeyVizEndpoint.methods {
                let r = await handler.handle(KeyVizHTTPRequest(method: method, path: endpoint.path))
                #expect(r.status != 404 && r.status != 405, "\(method) \(endpoint.path): \(r.status)")
            }
            #expect(await handler.handle(KeyVizHTTPRequest(method: "POST", path: endpoint.path)).status == 405)
        }
        #expect(await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/nothing")).status == 404)
        let exposition = String(decoding: await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/metrics")).body, as: UTF8.self)
        for endpoint in KeyVizEndpoint.allCases {
            #expect(exposition.contains("handler=\"\(endpoint.handlerLabel)\""), "no series for \(endpoint.handlerLabel)")
        }
        #expect(Set(KeyVizEndpoint.allCases.map(\.handlerLabel)).count == KeyVizEndpoint.allCases.count)
    }
}

@Suite struct AsyncRenderCoalescerTests {
    /// Scrapes in many tasks share renders and never get a snapshot older than their request;
    /// a waiting scrape suspends instead of holding a thread.
    @Test func scrapesInManyTasksShareRendersButNeverGetAStaleSnapshot() async {
        final class Run: Sendable {
            let source = RenderCoalescerTests.CountingExposition()
            let coalescer: RenderCoalescer
            let stale = Mutex(0)
            init() { coalescer = RenderCoalescer(metrics: source) }
            func check(_ before: Int, _ body: [UInt8]) {
                let seen = Int(String(decoding: body, as: UTF8.self).split(separator: " ")[1].dropLast())!
                if seen < before { stale.withLock { $0 += 1 } }
            }
        }
        let run = Run()
        // On threads of their own, so the scrapes overlap however busy the cooperative pool is.
        await withTaskExecutorPreference(TestThreadsExecutor.shared) {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    let before = run.source.observed.withLock { v -> Int in v += 1; return v }
                    run.check(before, await run.coalescer.render(format: .prometheusText))
                }
            }
        }
        }
        #expect(run.stale.withLock { $0 } == 0)
        #expect(run.coalescer.renderCount < 24)
        #expect(run.coalescer.renderCount >= 1)
    }
}
