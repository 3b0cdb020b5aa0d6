import Foundation
import KeyViz
@testable import KeyVizHTTP
@testable import KeyVizHTTPHandler
import KeyVizPrometheus
import Testing

@Suite struct HeatmapPageTests {
    private func router(_ catalog: RouteCatalog, stepMs: Int64 = 1000) -> (KeyVizHTTPHandler, HeatMatrixSampler) {
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: stepMs))
        m.apply(catalog)
        return (KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m), m)
    }

    private func matrix(_ r: KeyVizHTTPHandler, _ query: [String: String]) async throws -> (Int, [String: Any]) {
        let resp = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: query))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(resp.body)) as? [String: Any])
        return (resp.status, obj)
    }

    @Test func rootServesTheSelfContainedPageWithRevalidationAndALockedDownPolicy() async {
        let (r, _) = router(.evenlySplit(count: 4, groups: 1))
        let page = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/"))
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("Cache-Control") == "no-cache")
        let csp = page.header("Content-Security-Policy") ?? ""
        #expect(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"))
        #expect(page.header("X-Content-Type-Options") == "nosniff")
        #expect(page.body.count < 150_000)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("<canvas id=\"heat\"") && html.contains("'/api/v1/keyviz/matrix?'"))
        // Nothing from elsewhere: no absolute URLs, no external scripts or styles.
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script src"))
        #expect(!html.contains("innerHTML"))
    }

    /// The page's sources are files of their own (Page/heatmap.html, .css and .js, which editors,
    /// linters and `node --check` open); the served document is the HTML file with the other two
    /// inline in place of its stylesheet link and script tag, byte for byte, so an edit to any of
    /// the three files reaches the binary (fails when the embedded copy or the inlining is off).
    @Test func theServedPageIsItsThreeSourceFilesInlined() async throws {
        let (r, _) = router(.evenlySplit(count: 4, groups: 1))
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/KeyVizHTTPHandler/Page")
        func file(_ name: String) throws -> String {
            String(decoding: try Data(contentsOf: dir.appendingPathComponent(name)), as: UTF8.self)
        }
        let html = try file("heatmap.html"), css = try file("heatmap.css"), js = try file("heatmap.js")
        #expect(html.components(separatedBy: #"<link rel="stylesheet" href="heatmap.css">"#).count == 2)
        #expect(html.components(separatedBy: #"<script src="heatmap.js"></script>"#).count == 2)
        let expected = html
            .replacingOccurrences(of: #"<link rel="stylesheet" href="heatmap.css">"#, with: "<style>\n" + css + "</style>")
            .replacingOccurrences(of: #"<script src="heatmap.js"></script>"#, with: "<script>\n" + js + "</script>")
        let served = await r.handle(KeyVizHTTPRequest(method: "GET", path: "/")).body
        #expect(served == Array(expected.utf8))
        // Inlined, not linked: a browser fetches nothing else (the CSP would refuse it anyway).
        let text = String(decoding: served, as: UTF8.self)
        #expect(!text.contains("heatmap.css") && !text.contains("heatmap.js"))
        #expect(css.utf8.count > 1_000 && js.utf8.count > 10_000 && text.contains(js) && text.contains(css))
    }

    @Test func thePageIsBehindBasicAuthLikeEverythingElse() async throws {
        // Auth is the server's policy (its configuration), so this goes over a real socket.
        var config = ephemeral()
        config.basicAuth = try BasicAuthUsers(fileContents: authFile)
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        #expect(try fetch(live.port, "GET", "/").status == 401)
        #expect(try fetch(live.port, "GET", "/", headers: ["Authorization": basic("user", "s3cret pass")]).status == 200)
    }

    @Test func matrixReportsTheStepAndReadableKeysBesideTheBase64() async throws {
        let quoted = Array("m\"x".utf8), binary: [UInt8] = [0x00, 0xff]
        let catalog = try RouteCatalog(routes: [Route(id: 3, start: [], end: binary, group: 1),
                                                Route(id: 1, start: binary, end: quoted, group: 1),
                                                Route(id: 2, start: quoted, end: [], group: 1)])
        let (r, m) = router(catalog, stepMs: 250)
        m.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
        m.flush()
        let (status, obj) = try await matrix(r, [:])
        #expect(status == 200)
        #expect(obj["step_ms"] as? Int == 250)
        let rows = try #require(obj["rows"] as? [[String: Any]])
        // One vocabulary with the Prometheus labels: (begin) and (end) for the key space's ends.
        #expect(rows.map { $0["start_preview"] as? String } == ["(begin)", "0x00ff", "m\"x"])
        #expect(rows.map { $0["end_preview"] as? String } == ["0x00ff", "m\"x", "(end)"])
        #expect(rows.map { Data(base64Encoded: $0["start"] as! String).map(Array.init) } == [[], [0x00, 0xff], Array("m\"x".utf8)])
        #expect(rows.map { $0["route_ids"] as? [Int] } == [[3], [1], [2]])
        #expect(rows[1]["values"] as? [Int] == [1])
    }

    @Test func aHugeKeyGetsAShortPreviewAndItsExactBytesInBase64() async throws {
        let long = [UInt8](repeating: UInt8(ascii: "k"), count: 100_000)
        let catalog = try RouteCatalog(routes: [Route(id: 1, start: [], end: long, group: 1), Route(id: 2, start: long, end: [], group: 1)])
        let (r, _) = router(catalog)
        let (_, obj) = try await matrix(r, [:])
        let rows = try #require(obj["rows"] as? [[String: Any]])
        let preview = try #require(rows[1]["start_preview"] as? String)
        #expect(preview.count == MatrixJSON.previewLength && preview.contains("~") && preview.hasPrefix("kkk"))
        #expect(Data(base64Encoded: rows[1]["start"] as! String)?.count == 100_000)
    }

    @Test func startAndEndKeyNarrowTheRowsAndAcceptWhatThePageSendsBack() async throws {
        let catalog = RouteCatalog.evenlySplit(count: 10, groups: 1)
        let (r, _) = router(catalog)
        let start = Data(catalog.routes[3].start).base64EncodedString()
        let end = Data(catalog.routes[6].start).base64EncodedString()
        let (status, obj) = try await matrix(r, ["start_key": start, "end_key": end])
        #expect(status == 200)
        let ids = (obj["rows"] as? [[String: Any]])?.map { $0["row_id"] as? String }
        #expect(ids == ["route:4", "route:5", "route:6"])
        // URL-safe, unpadded, and a '+' that a form decoder turned into a space mean the same key.
        let urlSafe = end.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let (_, again) = try await matrix(r, ["start_key": start.replacingOccurrences(of: "+", with: " "), "end_key": urlSafe])
        #expect((again["rows"] as? [[String: Any]])?.count == 3)
        // Only an end: everything before it.
        let (_, head) = try await matrix(r, ["end_key": Data(catalog.routes[2].start).base64EncodedString()])
        #expect((head["rows"] as? [[String: Any]])?.count == 2)
    }

    @Test func badKeyBoundsAre400WithTheParameterNamed() async throws {
        let catalog = RouteCatalog.evenlySplit(count: 10, groups: 1)
        let (r, _) = router(catalog)
        let (s1, e1) = try await matrix(r, ["start_key": "not base64!"])
        #expect(s1 == 400 && e1["code"] as? String == "invalid_query" && (e1["message"] as? String)?.contains("start_key") == true)
        let k = Data(catalog.routes[5].start).base64EncodedString()
        let (s2, e2) = try await matrix(r, ["start_key": k, "end_key": k])
        #expect(s2 == 400 && (e2["message"] as? String)?.contains("end_key") == true)
        let (s3, _) = try await matrix(r, ["end_key": "QQ=Q"])
        #expect(s3 == 400)
    }
}
