import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizTestKit
import Synchronization
import Testing
import KeyVizTestSupport

/// Large bodies are lent to libmicrohttpd, not copied: what it sends is the render's bytes, held
/// until libmicrohttpd is done with them, and every body is released then, however the
/// exchange ended.
@Suite struct LentBodyTests {
    /// Each render a body of its own, so a holder released too early frees the bytes being sent.
    static func server(_ text: String) throws -> MetricsServer {
        // Deadlines far away: a stalled exchange here must end because its client leaves, not
        // because the request deadline closed it on a slow machine.
        var config = ephemeral()
        config.connectionTimeout = .seconds(300)
        config.headerTimeout = .seconds(300)
        return try MetricsServer(handler: KeyVizHTTPHandler(metrics: FixedExposition(body: text, freshCopies: true), matrix: nil),
                                 configuration: config, taskExecutor: TestThreadsExecutor.shared)
    }

    @Test func aLentBodyArrivesByteExactAndIsReleasedOnceSentOrHeadOnly() async throws {
        let text = (0..<24_000).map { "x_total{i=\"\($0)\"} \($0 &* 7919)\n" }.joined()     // about 700 KB
        let expected = Array(text.utf8)
        let server = try Self.server(text)
        defer { server.stop() }
        let port = server.boundAddress.port
        let bad = Mutex<[String]>([])
        // Six clients, each four GETs on one connection and a HEAD.
        await ConcurrentRunner.run(Array(repeating: { @Sendable in
            do {
                let c = try TestConnection(port: port)
                for _ in 0..<4 {
                    c.send(TestConnection.request("GET", "/metrics"))
                    let r = try c.readResponse()
                    if r.status != 200 || r.body != expected { bad.withLock { $0.append("GET: \(r.status), \(r.body.count) bytes") } }
                }
                let head = try fetch(port, "HEAD", "/metrics")
                if head.status != 200 || !head.body.isEmpty { bad.withLock { $0.append("HEAD: \(head.status), \(head.body.count) bytes") } }
            } catch { bad.withLock { $0.append("\(error)") } }
        }, count: 6))
        #expect(bad.withLock { $0 } == [])
        #expect(server.responseBodiesLent == 30)      // HEAD answers carry theirs too
        try await expectAllReleased(server)
    }

    @Test func aBodyIsHeldWhileItsClientStallsAndReleasedWhenTheClientLeaves() async throws {
        // 16 MB: more than loopback's socket buffers take from a client that does not read.
        let text = String(repeating: String(repeating: "x", count: 1023) + "\n", count: 16 * 1024)
        let server = try Self.server(text)
        defer { server.stop() }
        let stalled = try (0..<2).map { _ in try TestConnection(port: server.boundAddress.port, timeoutSeconds: 60) }
        for c in stalled {
            c.send(TestConnection.request("GET", "/metrics"))
            #expect(c.readChunk() != nil)           // the answer has begun
        }
        #expect(server.responseBodiesLent == 2)
        // Nothing more read: both bodies are still being sent.
        try await Task.sleep(for: .milliseconds(200))
        withExtendedLifetime(stalled) { #expect(server.responseBodiesHeld == 2) }
        _ = consume stalled                           // the clients leave
        try await expectAllReleased(server)
    }

    /// Released as each exchange ends; an abandoned one once libmicrohttpd sees the close.
    private func expectAllReleased(_ server: MetricsServer) async throws {
        let deadline = Date().addingTimeInterval(15)
        while server.responseBodiesHeld > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(server.responseBodiesHeld == 0)
    }
}
