import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizTestKit
import Synchronization
import Testing
import KeyVizTestSupport

/// Large bodies are lent to libmicrohttpd, not copied: what it sends is the render's bytes, and
/// every body is released once libmicrohttpd is done with it, however the exchange ended.
@Suite struct LentBodyTests {
    @Test func aLentBodyArrivesByteExactAndIsReleasedWhetherSentHeadOnlyOrAbandoned() async throws {
        // About 700 KB: more than a socket buffer holds, so an abandoned send really is cut off.
        let text = (0..<24_000).map { "x_total{i=\"\($0)\"} \($0 &* 7919)\n" }.joined()
        let expected = Array(text.utf8)
        let server = try MetricsServer(handler: KeyVizHTTPHandler(metrics: FixedExposition(body: text), matrix: nil),
                                       configuration: ephemeral(), taskExecutor: TestThreadsExecutor.shared)
        defer { server.stop() }
        let port = server.boundAddress.port
        let bad = Mutex<[String]>([])
        // Six clients, each four GETs on one connection and a HEAD; two more that leave mid-body.
        var clients: [@Sendable () -> Void] = Array(repeating: { @Sendable in
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
        }, count: 6)
        clients += Array(repeating: { @Sendable in
            guard let c = try? TestConnection(port: port) else { return bad.withLock { $0.append("connect") } }
            c.send(TestConnection.request("GET", "/metrics"))
            _ = c.readChunk()       // then gone, the rest of the body unread
        }, count: 2)
        await ConcurrentRunner.run(clients)
        #expect(bad.withLock { $0 } == [])
        // 24 GETs, 6 HEADs and 2 abandoned GETs, each with its body lent (HEAD answers carry it too).
        #expect(server.responseBodiesLent == 32)
        // Released as each exchange ends; an abandoned one when libmicrohttpd notices the close.
        let deadline = Date().addingTimeInterval(15)
        while server.responseBodiesHeld > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(server.responseBodiesHeld == 0)
    }
}
