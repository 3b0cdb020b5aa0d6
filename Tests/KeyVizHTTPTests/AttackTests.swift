import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizTestKit
import Synchronization
import Testing
import KeyVizTestSupport

/// Every attack of issue 12, repeated over real sockets against a server built through its
/// public API (policy in the configuration only), with the outcome asserted.
@Suite(.serialized) struct AttackTests {
    // MARK: 1. policy set on the configuration is the policy enforced

    @Test func basicAuthSetOnlyOnTheConfigurationGuardsEveryEndpoint() throws {
        var config = ephemeral()
        config.basicAuth = try BasicAuthUsers(fileContents: authFile)
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        for path in ["/metrics", "/api/v1/keyviz/matrix", "/healthz", "/", "/missing"] {
            let none = try fetch(live.port, "GET", path)
            #expect(none.status == 401, "\(path) without credentials")
            #expect(none.headers["www-authenticate"]?.hasPrefix("Basic realm=") == true)
            #expect(try fetch(live.port, "GET", path, headers: ["Authorization": basic("user", "wrong")]).status == 401)
            #expect(try fetch(live.port, "GET", path, headers: ["Authorization": basic("nobody", "s3cret pass")]).status == 401)
        }
        #expect(try fetch(live.port, "GET", "/metrics", headers: ["Authorization": "Basic !!!"]).status == 401)
        // A refusal ends the connection, even one asking for keep-alive.
        let c = try TestConnection(port: live.port)
        c.send(TestConnection.request("GET", "/metrics"))
        #expect(try c.readResponse().status == 401)
        #expect(c.waitForClose())
        for path in ["/metrics", "/api/v1/keyviz/matrix", "/healthz"] {
            #expect(try fetch(live.port, "GET", path, headers: ["Authorization": basic("user", "s3cret pass")]).status == 200, "\(path)")
        }
    }

    @Test func matrixRequestsBeyondTheConfiguredLimitGet503() async throws {
        var config = ephemeral()
        config.maxConcurrentMatrixRequests = 1
        config.connectionLimit = 32
        // A matrix big enough that a snapshot takes a while, so concurrent requests overlap.
        let live = try LiveServer(routes: 20_000, buckets: 32, configuration: config)
        defer { live.server.stop() }
        for i in 0..<20_000 { live.memSampler.observe(route: RouteID(1 + i), op: .write, keyLength: 8, valueLength: 8) }
        live.memSampler.flush()
        let codes = Mutex<[Int]>([])
        var rounds = 0
        // Overlap is likely but not certain on a loaded machine: try a bounded number of rounds.
        while rounds < 15 && !codes.withLock({ $0.contains(503) }) {
            rounds += 1
            await ConcurrentRunner.run(Array(repeating: { @Sendable in
                let code = (try? fetch(live.port, "GET", "/api/v1/keyviz/matrix?series=writes")) .map { $0.status } ?? -1
                codes.withLock { $0.append(code) }
            }, count: 8))
        }
        let got = codes.withLock { $0 }
        #expect(got.contains(503), "no request was refused in \(rounds) rounds: \(got)")
        #expect(got.contains(200))
        #expect(got.allSatisfy { $0 == 200 || $0 == 503 }, "\(got)")
        let refused = try await fetchUntil(live.port, "/api/v1/keyviz/matrix?series=writes", status: 503, parallel: 8)
        #expect(refused?.headers["retry-after"] == "1")
        #expect(refused?.headers["content-type"] == "application/json; charset=utf-8")
    }

    // MARK: 2. a slow request body holds no connection

    @Test func sixtyFourSlowBodyClientsDoNotKeepHealthzFromAnsweringWithinASecond() throws {
        for withAuth in [false, true] {
            var config = ephemeral()      // the default connection limit: 64
            config.connectionLimitPerClient = 64   // all 64 come from 127.0.0.1 (ClientLimitTests covers the per-client limit)
            if withAuth { config.basicAuth = try BasicAuthUsers(fileContents: authFile) }
            let live = try LiveServer(configuration: config)
            defer { live.server.stop() }
            let credentials = withAuth ? ["Authorization": basic("user", "s3cret pass")] : [:]
            var slow: [TestConnection] = []
            for _ in 0..<64 {
                let c = try TestConnection(port: live.port)
                c.send("POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n")
                slow.append(c)
            }
            // Each is refused from its headers and closed, not one byte of its body awaited.
            // (Before the /healthz requests: a 65th connection that reached the server while
            // the 64 were still queued for their refusal would be over the per-client limit.)
            for c in slow {
                let r = try c.readResponse()
                #expect(r.status == (withAuth ? 401 : 405))
                #expect(c.waitForClose())
            }
            var slowest = 0.0
            for _ in 0..<6 {
                for c in slow { c.send("x") }      // fails harmlessly once the server has closed it
                let started = Date()
                let r = try fetch(live.port, "GET", "/healthz", headers: credentials)
                slowest = max(slowest, Date().timeIntervalSince(started))
                #expect(r.status == 200)
                Thread.sleep(forTimeInterval: 0.3)
            }
            print("64 slow-body clients, auth \(withAuth): slowest /healthz \(slowest * 1000) ms")
            #expect(slowest < 1, "auth \(withAuth): /healthz took \(slowest) s")
        }
    }

    @Test func aBodyIsRefusedFromTheHeadersAloneBeforeAnyOfItIsSent() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        for (head, want) in [("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", 413),
                             ("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 413),
                             ("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 405),
                             ("PUT /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 405)] {
            let c = try TestConnection(port: live.port, timeoutSeconds: 3)
            c.send(head)
            let r = try c.readResponse()
            #expect(r.status == want, "\(head)")
            #expect(c.waitForClose())
        }
        // An empty body is no body.
        let c = try TestConnection(port: live.port)
        for zero in ["0", "00"] {
            c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: \(zero)\r\n\r\n")
            #expect(try c.readResponse().status == 200)
        }
    }

    @Test func aRequestTrickledPastTheDeadlineIsClosed() throws {
        var config = ephemeral()
        config.connectionTimeout = .seconds(1)
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        let c = try TestConnection(port: live.port, timeoutSeconds: 1)
        let started = Date()
        var closed = false
        for byte in Array("GET /healthz HTTP/1.1\r\nX-Slow: \(String(repeating: "a", count: 40))".utf8) {
            if !c.send([byte]) { closed = true; break }
            Thread.sleep(forTimeInterval: 0.2)
            var buf = [UInt8](repeating: 0, count: 16)
            let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { closed = true; break }
        }
        #expect(closed)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(live.server.connectionsTimedOut >= 1)
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
    }

    @Test func aClientReadingTheResponseSlowlyIsClosedAtTheDeadline() throws {
        // 8 MB of body read 4 KiB per 0.1 s would take over three minutes; the deadline (1 s
        // here) covers the response too, so the connection is shut down long before.
        let big = FixedExposition(body: String(repeating: "x_total 1\n", count: 800_000))
        var config = ephemeral()
        config.connectionTimeout = .seconds(1)
        let server = try MetricsServer(handler: KeyVizHTTPHandler(metrics: big, matrix: nil), configuration: config, taskExecutor: TestThreadsExecutor.shared)
        defer { server.stop() }
        let c = try TestConnection(port: server.boundAddress.port, timeoutSeconds: 2)
        var small: Int32 = 4096
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        c.send(TestConnection.request("GET", "/metrics"))
        let started = Date()
        var received = 0
        var closed = false
        while Date().timeIntervalSince(started) < 15 {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { closed = n == 0 || errno == ECONNRESET; break }
            received += n
            Thread.sleep(forTimeInterval: 0.1)
        }
        print("slow reader: closed=\(closed) after \(Date().timeIntervalSince(started)) s and \(received) bytes, timed out \(server.connectionsTimedOut)")
        // Whichever closes it first, the deadline or libmicrohttpd's idle timeout (both 1 s),
        // the socket is reset: the reader does not go on draining a full send buffer.
        #expect(closed)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(received < 1_000_000)
    }

    // MARK: 3 and 4. authentication leaks nothing and takes only what it was given

    @Test func unknownAndKnownUsersCostTheSameWithBcryptUsers() throws {
        // `user` / `s3cret pass`, bcrypt cost 8 (about 20 ms a check): an unknown user checked
        // against a cheap dummy was several times faster than a known one.
        var config = ephemeral()
        config.basicAuth = try BasicAuthUsers(fileContents: "user:$2b$08$v1hcQXJONFko260e2i./BeSu8/Z0g73pQnMLQZvULwpenjEnha8We\n")
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        func seconds(_ user: String) throws -> Double {
            let started = Date()
            let r = try fetch(live.port, "GET", "/healthz", headers: ["Authorization": basic(user, "wrong guess")])
            #expect(r.status == 401)
            return Date().timeIntervalSince(started)
        }
        var known: [Double] = [], unknown: [Double] = []
        for i in 0..<11 {
            known.append(try seconds("user"))
            unknown.append(try seconds("nobody\(i)"))
        }
        let k = known.sorted()[5], u = unknown.sorted()[5]
        print("auth check medians: known user \(k * 1000) ms, unknown user \(u * 1000) ms")
        #expect(max(k, u) / min(k, u) < 3, "known \(k) s vs unknown \(u) s")
        #expect(try fetch(live.port, "GET", "/healthz", headers: ["Authorization": basic("user", "s3cret pass")]).status == 200)
    }

    @Test func credentialsWithANulByteOrThatAreNotUTF8AreRefused() throws {
        // `user` / `secret` and `odd` / U+FFFD (what invalid UTF-8 used to be decoded to).
        var config = ephemeral()
        config.basicAuth = try BasicAuthUsers(fileContents: """
            user:$5$yb5DqO4m4ySCvjme$aH5u41a6lIQRQ6pwpTKABayWwDpUgdKlbe6THVJrcB1
            odd:$5$608UwjVfC2p7if.3$rAI2RMi278YCiKnk7GQggSfrp2IBYKgyZPtKSCZLMJ2
            """)
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        func raw(_ bytes: [UInt8]) -> [String: String] { ["Authorization": "Basic " + Data(bytes).base64EncodedString()] }
        #expect(try fetch(live.port, "GET", "/healthz", headers: basicHeader("user", "secret")).status == 200)
        #expect(try fetch(live.port, "GET", "/healthz", headers: raw(Array("user:secret".utf8) + [0] + Array("junk".utf8))).status == 401)
        #expect(try fetch(live.port, "GET", "/healthz", headers: raw(Array("user".utf8) + [0, UInt8(ascii: ":")] + Array("secret".utf8))).status == 401)
        #expect(try fetch(live.port, "GET", "/healthz", headers: basicHeader("odd", "\u{FFFD}")).status == 200)
        #expect(try fetch(live.port, "GET", "/healthz", headers: raw(Array("odd:".utf8) + [0xFF])).status == 401)
        #expect(try fetch(live.port, "GET", "/healthz", headers: raw(Array("odd:".utf8) + [0xEF, 0xBF])).status == 401)
    }

    // MARK: 5 is in ServerTests.gzipBodyDecodesToThePlainBody (`*, gzip;q=0` and friends)

    // MARK: 6. strict HTTP

    @Test func malformedRequestsGet400() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        for request in ["GET /healthz HTTP/1.1\r\n\r\n",                                    // HTTP/1.1 without Host
                        "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",               // two Hosts
                        "GET /healthz HTTP/1.1\r\nHost : a\r\n\r\n",                        // space before the colon
                        "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Thing : 1\r\n\r\n",
                        "THIS IS NOT HTTP\r\n\r\n"] {
            let c = try TestConnection(port: live.port, timeoutSeconds: 3)
            c.send(request)
            #expect(try c.readResponse().status == 400, "\(request.debugDescription)")
            #expect(c.waitForClose())
        }
        // HTTP/1.0 needs no Host.
        let c = try TestConnection(port: live.port)
        c.send("GET /healthz HTTP/1.0\r\n\r\n")
        #expect(try c.readResponse().status == 200)
    }

    @Test func aRequestLineWithoutSpacesIsClosedWithoutAnAnswer() throws {
        // libmicrohttpd 0.9.75 drops a request line that is not METHOD SP TARGET SP VERSION
        // without writing anything (newer releases answer 400); the application never sees
        // it. Pinned here so a library upgrade that changes it is noticed.
        let live = try LiveServer()
        defer { live.server.stop() }
        for garbage in ["GARBAGE\r\n\r\n", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"] {
            let c = try TestConnection(port: live.port, timeoutSeconds: 3)
            c.send(garbage)
            #expect(c.readChunk() == nil, "\(garbage.debugDescription) got an answer")
        }
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
    }

    @Test func pathsMatchExactlySoAnEncodedNulAliasesNothing() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        for path in ["/metrics%00", "/healthz%00", "/metrics%00.txt", "/metrics/", "//metrics", "/METRICS"] {
            #expect(try fetch(live.port, "GET", path).status == 404, "\(path)")
        }
        #expect(try fetch(live.port, "GET", "/api/v1/keyviz/matrix?series=writes%00junk").status == 400)
        #expect(try fetch(live.port, "GET", "/api/v1/keyviz/matrix?series=writes").status == 200)
        #expect(try fetch(live.port, "GET", "/metrics?x=%00").status == 200)
    }

    @Test func matrixRowsBeyondTheLimitMeanTheLimitAsDocumented() throws {
        let live = try LiveServer(routes: 100)
        defer { live.server.stop() }
        live.memSampler.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
        live.memSampler.flush()
        func rowCount(_ query: String) throws -> Int? {
            let r = try fetch(live.port, "GET", "/api/v1/keyviz/matrix?series=writes" + query)
            guard r.status == 200 else { return nil }
            return ((try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])?["rows"] as? [Any])?.count
        }
        let all = try rowCount("")
        #expect(all == 100)
        #expect(try rowCount("&rows=99999999999999999999999") == all)
        #expect(try rowCount("&rows=-99999999999999999999999") == all)
        #expect(try rowCount("&rows=1025") == all)
        #expect(try rowCount("&rows=7") == 7)
        #expect(try fetch(live.port, "GET", "/api/v1/keyviz/matrix?rows=7x").status == 400)
    }

    // MARK: 7. log volume an attacker cannot grow

    @Test func aConnectionFloodLogsAtMostABurstAndThenHowManyWereSuppressed() throws {
        let log = CapturedLog()
        var config = ephemeral()
        config.connectionLimitPerClient = 4
        let live = try LiveServer(configuration: config, logger: log.logger)
        var held: [TestConnection] = []
        for _ in 0..<4 { held.append(try TestConnection(port: live.port)) }
        Thread.sleep(forTimeInterval: 0.2)
        // 300 connections past the per-client limit: libmicrohttpd accepts, refuses and reports
        // each. (Past the connection limit it accepts none: they wait in the listen backlog.)
        for _ in 0..<300 {
            let c = try TestConnection(port: live.port, timeoutSeconds: 2)
            _ = c.readChunk()
        }
        held.removeAll()
        live.server.stop()
        let lines = log.lines.withLock { $0 }
        let refusals = lines.filter { $0.contains("connection limit") }
        let suppressed = lines.compactMap { line -> Int? in
            guard let r = line.range(of: "suppressed ") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        print("300 refused connections: \(lines.count) log lines, \(refusals.count) of them refusals, \(suppressed.reduce(0, +)) suppressed")
        #expect(!refusals.isEmpty, "\(lines.prefix(5))")
        #expect(lines.count <= 22, "\(lines.count) lines")
        #expect(suppressed.reduce(0, +) >= 250, "\(lines.suffix(3))")
        #expect(lines.allSatisfy { $0.hasPrefix("warning ") })
    }
}

func basicHeader(_ user: String, _ password: String) -> [String: String] {
    ["Authorization": basic(user, password)]
}

/// Fires `parallel` concurrent requests up to 15 times until one gets `status`; returns it.
func fetchUntil(_ port: UInt16, _ path: String, status: Int, parallel: Int) async throws -> TestResponse? {
    let found = Mutex<TestResponse?>(nil)
    for _ in 0..<15 where found.withLock({ $0 == nil }) {
        await ConcurrentRunner.run(Array(repeating: { @Sendable in
            if let r = try? fetch(port, "GET", path), r.status == status {
                found.withLock { if $0 == nil { $0 = r } }
            }
        }, count: parallel))
    }
    return found.withLock { $0 }
}
