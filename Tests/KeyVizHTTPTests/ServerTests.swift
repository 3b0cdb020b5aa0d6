import CKeyVizMalloc
import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing
import KeyVizTestSupport

@Suite struct ServerTests {
    @Test func everyEndpointAnswersWithItsStatusHeadersAndBody() async throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        let metrics = try fetch(live.port, "GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(try await promtoolClean(metrics.body))
        let head = try fetch(live.port, "HEAD", "/metrics")
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(Int(head.headers["content-length"] ?? "0") ?? 0 > 1000)
        #expect(try fetch(live.port, "GET", "/healthz").text == "ok\n")
        #expect(try fetch(live.port, "GET", "/").headers["content-type"] == "text/html; charset=utf-8")
        #expect(try fetch(live.port, "GET", "/missing").status == 404)
        let post = try fetch(live.port, "POST", "/metrics")
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
        let matrix = try fetch(live.port, "GET", "/api/v1/keyviz/matrix?series=read_bytes&rows=3")
        #expect(matrix.status == 200 && matrix.headers["cache-control"] == "no-store")
        let obj = try JSONSerialization.jsonObject(with: Data(matrix.body)) as? [String: Any]
        #expect(obj?["series"] as? String == "read_bytes")
        #expect((obj?["rows"] as? [Any])?.count == 3)
        #expect(try fetch(live.port, "GET", "/api/v1/keyviz/matrix?series=bogus").status == 400)
    }

    @Test func prometheusGetsOpenMetricsAndCurlGetsText() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        let om = try fetch(live.port, "GET", "/metrics", headers: ["Accept": prometheusAccept])
        #expect(om.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(om.text.hasSuffix("# EOF\n"))
        let curl = try fetch(live.port, "GET", "/metrics", headers: ["Accept": "*/*"])
        #expect(curl.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
    }

    @Test func keepAliveReusesTheConnection() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        let c = try TestConnection(port: live.port)
        for path in ["/healthz", "/metrics", "/healthz", "/"] {
            #expect(c.send(TestConnection.request("GET", path)))
            let r = try c.readResponse()
            #expect(r.status == 200)
            #expect(r.headers["connection"]?.lowercased() != "close")
        }
    }

    @Test func gzipBodyDecodesToThePlainBody() async throws {
        let fixed = FixedExposition(body: String(repeating: "keyviz_bucket_reads_total{bucket=\"k\"} 1\n", count: 500))
        let server = try MetricsServer(handler: KeyVizHTTPHandler(metrics: fixed, matrix: nil), configuration: ephemeral(), taskExecutor: TestThreadsExecutor.shared)
        defer { server.stop() }
        let plain = try fetch(server.boundAddress.port, "GET", "/metrics")
        let zipped = try fetch(server.boundAddress.port, "GET", "/metrics", headers: ["Accept-Encoding": "gzip"])
        #expect(plain.headers["content-encoding"] == nil)
        #expect(zipped.headers["content-encoding"] == "gzip")
        #expect(zipped.body.count < plain.body.count / 5)
        let unzipped = try await run(["gzip", "-dc"], input: zipped.body)
        #expect(unzipped.status == 0)
        #expect(unzipped.output == plain.body)
        // A gzip entry decides over `*` (RFC 9110): q=0 refuses it wherever it stands.
        for (offer, gzipped) in [("gzip;q=0", false), ("*, gzip;q=0", false), ("gzip;q=0, *", false), ("*", true),
                                 ("br, *;q=0.5", true), ("identity", false), ("*;q=0", false), ("gzip;q=0.1, *;q=0", true)] {
            let r = try fetch(server.boundAddress.port, "GET", "/metrics", headers: ["Accept-Encoding": offer])
            #expect((r.headers["content-encoding"] == "gzip") == gzipped, "Accept-Encoding: \(offer)")
        }
    }

    @Test func thirtyTwoConcurrentScrapesWhileObservationsRunAreCompleteAndClean() async throws {
        // A limit above 32, so every scrape is served (the 503 path has its own test).
        // All 32 scrapers come from 127.0.0.1: past the default per-client limit of 16.
        let live = try LiveServer(routes: 2000, buckets: 256, configuration: ephemeral(.init(maxConcurrentScrapes: 64, connectionLimitPerClient: 64)))
        defer { live.server.stop() }
        let stop = Atomic<Bool>(false)
        let bodies = Mutex<[[UInt8]]>([])
        let failures = Mutex<[String]>([])
        let observer: @Sendable () -> Void = {
            var i: UInt64 = 0
            while !stop.load(ordering: .relaxed) {
                live.prometheus.observe(route: RouteID(1 + i % 2000), op: i & 1 == 0 ? .read : .write, keyLength: 8, valueLength: 32)
                i &+= 1
            }
        }
        let scraper: @Sendable () -> Void = {
            do {
                let r = try fetch(live.port, "GET", "/metrics", headers: ["Accept": prometheusAccept])
                if r.status != 200 { failures.withLock { $0.append("status \(r.status)") } }
                bodies.withLock { $0.append(r.body) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        // The last scraper to finish stops the observer.
        let scrapersLeft = Mutex(32)
        let scraperThenCount: @Sendable () -> Void = {
            scraper()
            if scrapersLeft.withLock({ n -> Int in n -= 1; return n }) == 0 { stop.store(true, ordering: .relaxed) }
        }
        await ConcurrentRunner.run([observer] + Array(repeating: scraperThenCount, count: 32))
        #expect(failures.withLock { $0 }.isEmpty)
        let all = bodies.withLock { $0 }
        #expect(all.count == 32)
        for body in all {
            #expect(String(decoding: body, as: UTF8.self).hasSuffix("# EOF\n"))
        }
        // promtool reads the text format: check a text scrape taken under the same load.
        #expect(try await promtoolClean(try fetch(live.port, "GET", "/metrics").body))
    }

    @Test func scrapesBeyondTheConcurrencyLimitGet503AtOnce() async throws {
        let slow = FixedExposition(body: "x_total 1\n", delaySeconds: 0.5)
        var config = ephemeral(.init(maxConcurrentScrapes: 1))
        config.connectionLimit = 16
        let server = try MetricsServer(handler: KeyVizHTTPHandler(metrics: slow, matrix: nil), configuration: config, taskExecutor: TestThreadsExecutor.shared)
        defer { server.stop() }
        let codes = Mutex<[Int]>([])
        await ConcurrentRunner.run(Array(repeating: { @Sendable in
            let started = Date()
            let code = (try? fetch(server.boundAddress.port, "GET", "/metrics").status) ?? -1
            // A refused scrape is refused at once, not queued behind the slow one.
            codes.withLock { $0.append(code == 503 && Date().timeIntervalSince(started) > 0.45 ? -503 : code) }
        }, count: 4))
        let got = codes.withLock { $0 }
        #expect(got.contains(200))
        #expect(got.contains(503))
        #expect(!got.contains(-503))
        #expect(!got.contains(-1))
    }

    @Test func theDemosMmapThresholdTakesEffectOnGlibc() {
        // The demo's call (malloc policy is the process's, so not the library's). It was once
        // compiled out (glibc's macro tested before any libc header defined it), and the demo's
        // resident memory grew by one 1.3 MB scrape body per malloc arena.
        #if canImport(Glibc)
        #expect(keyviz_fix_mmap_threshold(128 * 1024) == 1)
        #endif
    }

    @Test func aSettingOutsideItsRangeSetAfterInitStopsTheStartNamingIt() throws {
        let bad: [(String, (inout MetricsServerConfiguration) -> Void)] = [
            ("maxConcurrentScrapes", { $0.maxConcurrentScrapes = 0 }),
            ("maxConcurrentMatrixRequests", { $0.maxConcurrentMatrixRequests = -3 }),
            ("connectionLimit", { $0.connectionLimit = 0 }),
            ("connectionLimit", { $0.connectionLimit = Int.max }),
            ("connectionLimitPerClient", { $0.connectionLimitPerClient = 65_537 }),
            ("connectionLimitPerClient", { $0.connectionLimitPerClient = 0 }),
            ("connectionMemoryLimit", { $0.connectionMemoryLimit = 0 }),
            ("connectionTimeout", { $0.connectionTimeout = .seconds(-1) }),
            ("connectionTimeout", { $0.connectionTimeout = .milliseconds(1500) }),
            ("connectionTimeout", { $0.connectionTimeout = .seconds(Int64.max) }),
            ("headerTimeout", { $0.headerTimeout = .seconds(86_401) }),
            ("headerTimeout", { $0.headerTimeout = .zero }),
        ]
        for (setting, change) in bad {
            var config = ephemeral()
            change(&config)
            let error = #expect(throws: ServerError.self) {
                try MetricsServer(handler: KeyVizHTTPHandler(metrics: FixedExposition(body: ""), matrix: nil), configuration: config, taskExecutor: TestThreadsExecutor.shared)
            }
            guard case .invalidConfiguration(let named, _)? = error else {
                Issue.record("\(setting): \(String(describing: error))")
                continue
            }
            #expect(named == setting)
            #expect(error?.description.hasPrefix("MetricsServerConfiguration.\(setting): ") == true)
        }
        // The edges of each range start.
        var edges = ephemeral()
        edges.maxConcurrentScrapes = 1
        edges.maxConcurrentMatrixRequests = 1
        edges.connectionLimit = 1
        edges.connectionLimitPerClient = 1
        edges.connectionMemoryLimit = 4096
        edges.connectionTimeout = .seconds(1)
        edges.headerTimeout = .seconds(1)
        let live = try LiveServer(configuration: edges)
        defer { live.server.stop() }
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
    }

    @Test func aBusyPortOrABadAddressRefusesToStart() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        #expect(throws: ServerError.self) {
            try MetricsServer(handler: KeyVizHTTPHandler(metrics: FixedExposition(body: ""), matrix: nil),
                              configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: live.port)))
        }
        do {
            _ = try MetricsServer(handler: KeyVizHTTPHandler(metrics: FixedExposition(body: ""), matrix: nil),
                                  configuration: .init(listen: ListenAddress(host: "999.1.1.1", port: 0)))
            Issue.record("a bad address started a server")
        } catch {
            #expect("\(error)".contains("999.1.1.1"))
        }
    }

    @Test func aServerLetGoWithoutAStopStopsAndFreesItsPort() async throws {
        var live: LiveServer? = try LiveServer()
        let port = try #require(live?.port)
        #expect(try fetch(port, "GET", "/healthz").status == 200)
        live = nil   // the last reference: deinit stops it, joining libmicrohttpd's thread elsewhere
        // The port is closed soon after; polled (at most 10 s), not timed.
        var refused = false
        for _ in 0..<1000 where !refused {
            do { _ = try TestConnection(port: port, timeoutSeconds: 1) } catch { refused = "\(error)".contains("refused") }
            if !refused { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(refused, "the port still accepts connections after the server was let go")
    }

    @Test func basicAuthOverTheWire() throws {
        var config = ephemeral()
        config.basicAuth = try BasicAuthUsers(fileContents: authFile)
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        let none = try fetch(live.port, "GET", "/metrics")
        #expect(none.status == 401 && none.headers["www-authenticate"]?.hasPrefix("Basic") == true)
        #expect(try fetch(live.port, "GET", "/metrics", headers: ["Authorization": basic("user", "nope")]).status == 401)
        #expect(try fetch(live.port, "GET", "/metrics", headers: ["Authorization": basic("user", "s3cret pass")]).status == 200)
    }

    @Test func tlsScrapesWorkAndPlainHTTPToTheTLSPortFailsCleanly() async throws {
        try await withSelfSignedCertificate { cert, key in
            var config = ephemeral()
            config.tlsCertificatePEM = try String(contentsOfFile: cert, encoding: .utf8)
            config.tlsKeyPEM = try String(contentsOfFile: key, encoding: .utf8)
            let live = try LiveServer(configuration: config)
            defer { live.server.stop() }
            let url = "https://127.0.0.1:\(live.port)/metrics"
            let scraped = try await run(["curl", "-sS", "--max-time", "10", "--cacert", cert, url])
            #expect(scraped.status == 0)
            #expect(try await promtoolClean(scraped.output))
            // Plain HTTP to the TLS port: no HTTP response, the connection just ends.
            let plain = try TestConnection(port: live.port, timeoutSeconds: 5)
            plain.send(TestConnection.request("GET", "/metrics", keepAlive: false))
            let reply = plain.readChunk()
            #expect(reply.map { !String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 200") } ?? true)
            // And the server is unaffected.
            #expect(try await run(["curl", "-sS", "--max-time", "10", "--cacert", cert, "https://127.0.0.1:\(live.port)/healthz"]).output == Array("ok\n".utf8))
        }
    }
}
