#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KeyViz
import KeyVizCluster
import KeyVizHTTP
import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing
import KeyVizTestSupport

/// A fetcher that answers from a table and records the paths asked.
private final class TableFetcher: PeerFetcher {
    let answers: [String: Result<PeerResponse, PeerFetchError>]
    let asked = Mutex<[String]>([])
    init(_ answers: [String: Result<PeerResponse, PeerFetchError>]) { self.answers = answers }
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        asked.withLock { $0.append("\(peer) \(path)") }
        return answers[peer.description] ?? .failure(PeerFetchError("no answer"))
    }
}

/// A node: a matrix with a fixed catalog and a few flushed columns, behind a handler.
private func node(seed: UInt64, clock: ManualClock, cluster: (any ClusterMatrixSource)? = nil) -> (KeyVizHTTPHandler, HeatMatrixSampler) {
    let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
    m.apply(.evenlySplit(count: 8, groups: 1))
    var rng = SplitMix64(seed: seed)
    for _ in 0..<3 {
        for _ in 0..<50 { m.observe(route: RouteID(1 + rng.next() % 8), op: .write, keyLength: 4, valueLength: 4) }
        m.flush(atUnixMs: clock.now)
        clock.advance(1000)
    }
    return (KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m, cluster: cluster), m)
}

private func json(_ r: KeyVizHTTPResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
}

private func columnTotals(_ obj: [String: Any]) -> [Int] {
    let rows = obj["rows"] as? [[String: Any]] ?? []
    let n = (obj["column_unix_ms"] as? [Int])?.count ?? 0
    return (0..<n).map { j in rows.reduce(0) { $0 + (($1["values"] as? [Int])?[j] ?? 0) } }
}

@Suite struct ClusterViewTests {
    @Test func failedPeersAreReportedAndTheRestMergedNeverFailingTheRequest() async throws {
        let clock = ManualClock(startingAt: 1_800_000_000_000)
        let (peerHandler, _) = node(seed: 2, clock: ManualClock(startingAt: 1_800_000_000_000))
        let peerBody = await peerHandler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "local"])).body
        let fetcher = TableFetcher([
            "10.0.0.2:1": .success(PeerResponse(status: 200, body: peerBody)),
            "10.0.0.3:1": .failure(PeerFetchError("timed out waiting for the answer")),
            "10.0.0.4:1": .success(PeerResponse(status: 401, body: Array("unauthorized\n".utf8))),
            "10.0.0.5:1": .success(PeerResponse(status: 200, body: Array("{\"series\":".utf8))),
        ])
        let peers = try PeerAddress.parseList("10.0.0.2:1,10.0.0.3:1,10.0.0.4:1,10.0.0.5:1")
        let view = try ClusterView(selfName: "self:1", peers: peers, fetcher: fetcher)
        let (handler, _) = node(seed: 1, clock: clock, cluster: view)
        let local = try json(await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix")))
        let response = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix",
                                                        query: ["scope": "cluster", "series": "writes", "rows": "3"]))
        #expect(response.status == 200)
        let merged = try json(response)
        #expect(merged["scope"] as? String == "cluster")
        let nodes = try #require(merged["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["node"] as? String } == ["self:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1", "10.0.0.5:1"])
        #expect(nodes.map { $0["ok"] as? Bool } == [true, true, false, false, false])
        #expect((nodes[2]["error"] as? String)?.contains("timed out") == true)
        #expect((nodes[3]["error"] as? String)?.hasPrefix("HTTP 401") == true)
        #expect((nodes[4]["error"] as? String)?.hasPrefix("bad matrix answer") == true)
        #expect((merged["rows"] as? [Any])?.count ?? 99 <= 3)
        // Never recursive: peers are asked for their local view with every row; the key range passes on encoded.
        let asked = fetcher.asked.withLock { $0 }
        #expect(asked.count == 4 && asked.allSatisfy { $0.contains("scope=local") && $0.contains("rows=1024") && $0.contains("series=writes") })
        #expect(ClusterView.peerPath(query: ["start_key": "a+/=", "rows": "3", "scope": "cluster"]) == "/api/v1/keyviz/matrix?scope=local&rows=1024&start_key=a%2B%2F%3D")
        // Both nodes flushed at the same grid points: each column is the sum of the two.
        let peer = try json(KeyVizHTTPResponse(status: 200, body: peerBody))
        #expect(merged["column_unix_ms"] as? [Int] == local["column_unix_ms"] as? [Int])
        #expect(columnTotals(merged) == zip(columnTotals(local), columnTotals(peer)).map { $0 + $1 })
    }

    @Test func scopeIsValidatedAndClusterNeedsAClusterView() async throws {
        let (handler, _) = node(seed: 1, clock: ManualClock())
        let bad = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "global"]))
        #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains("scope"))
        let none = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "cluster"]))
        #expect(none.status == 400 && String(decoding: none.body, as: UTF8.self).contains("no peers"))
        #expect(await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "local"])).status == 200)
        let noProm = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "prometheus"]))
        #expect(noProm.status == 400 && String(decoding: noProm.body, as: UTF8.self).contains("Prometheus"))
    }

    @Test func theHTTPFetcherSendsBasicAuthWhenGivenCredentials() async throws {
        let (handler, _) = node(seed: 4, clock: ManualClock())
        var config = MetricsServerConfiguration(listen: ListenAddress(host: "127.0.0.1", port: 0))
        // `user` / `s3cret pass`, SHA-256-crypt (openssl passwd -5 -salt keyvizsalt).
        config.basicAuth = try BasicAuthUsers(fileContents: "user:$5$keyvizsalt$6E.2ySApWdHTjs7cjuGrORq2K.yi.ZF7Z2D8upfX9gD\n")
        let server = try MetricsServer(handler: handler, configuration: config, taskExecutor: TestThreadsExecutor.shared)
        defer { server.stop() }
        let peer = PeerAddress(host: "127.0.0.1", port: server.boundAddress.port)
        let path = "/api/v1/keyviz/matrix?scope=local"
        #expect(try await HTTPPeerFetcher().get(peer, path: path, timeout: .milliseconds(10_000), maxBodyBytes: 1 << 20).get().status == 401)
        let wrong = HTTPPeerFetcher(basicAuth: (user: "user", password: "nope"))
        #expect(try await wrong.get(peer, path: path, timeout: .milliseconds(10_000), maxBodyBytes: 1 << 20).get().status == 401)
        let right = HTTPPeerFetcher(basicAuth: (user: "user", password: "s3cret pass"))
        #expect(try await right.get(peer, path: path, timeout: .milliseconds(10_000), maxBodyBytes: 1 << 20).get().status == 200)
    }

    @Test func theHTTPFetcherGetsARealNodesMatrixAndHonoursTheCapAndRefusals() async throws {
        let (handler, _) = node(seed: 3, clock: ManualClock())
        let server = try MetricsServer(handler: handler, configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: 0)),
                                       taskExecutor: TestThreadsExecutor.shared)
        defer { server.stop() }
        let peer = PeerAddress(host: "127.0.0.1", port: server.boundAddress.port)
        let fetcher = HTTPPeerFetcher()
        let ok = try await fetcher.get(peer, path: "/api/v1/keyviz/matrix?scope=local", timeout: .milliseconds(10_000), maxBodyBytes: 1 << 20).get()
        #expect(ok.status == 200)
        let direct = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "local"])).body
        #expect(try NodeMatrix.decode(ok.body).rows == NodeMatrix.decode(direct).rows)
        let capped = await fetcher.get(peer, path: "/api/v1/keyviz/matrix", timeout: .milliseconds(10_000), maxBodyBytes: 100)
        #expect(throws: PeerFetchError.self) { try capped.get() }
        if case .failure(let e) = capped { #expect(e.message.contains("cap")) }
        // A port nothing listens on: refused (the listener is closed before asking).
        let closed = try ephemeralClosedPort()
        let refused = await fetcher.get(PeerAddress(host: "127.0.0.1", port: closed), path: "/", timeout: .milliseconds(10_000), maxBodyBytes: 1024)
        if case .failure(let e) = refused { #expect(e.message.contains("connect")) } else { Issue.record("a closed port answered") }
    }

    @Test func aPeerThatNeverAnswersTimesOut() async throws {
        // A listening socket that accepts (the kernel completes the handshake) but never writes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        listen(fd, 4)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        let r = await HTTPPeerFetcher().get(PeerAddress(host: "127.0.0.1", port: port), path: "/", timeout: .milliseconds(200), maxBodyBytes: 1024)
        if case .failure(let e) = r { #expect(e.message.contains("timed out")) } else { Issue.record("a silent peer answered") }
    }

    /// This node reaches its cluster view as a value (`MatrixAnswer`), not as JSON read back:
    /// a node whose answer holds more route changes than a peer's answer may carry
    /// (`NodeMatrix.Limits.maxEvents`) still counts itself, with its counts, instead of being
    /// listed as a node whose own answer did not decode.
    @Test func thisNodeCountsItselfHoweverManyRouteChangesItsAnswerHolds() async throws {
        let clock = ManualClock()
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        var c = RouteCatalog.evenlySplit(count: 2, groups: 1, prefix: "k", width: 2)
        m.apply(c)
        clock.advance(1000); m.flush()
        var current: RouteID = 2, next: UInt64 = 100
        let changes = NodeMatrix.Limits().maxEvents + 2
        for _ in 0..<(changes / 2) {
            let (left, right, merged) = (RouteID(next), RouteID(next + 1), RouteID(next + 2))
            let split = try c.splitting(current, at: Array("k75".utf8), leftID: left, rightID: right)
            m.apply(split)
            c = try split.merging(left, right, into: merged)
            m.apply(c)
            current = merged
            next += 3
        }
        m.observe(route: 1, op: .write, keyLength: 2, valueLength: 3)
        clock.advance(1000); m.flush()
        let view = try ClusterView(selfName: "self:1", peers: [])
        let h = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m, cluster: view, nodeID: "me")
        let r = await h.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "cluster"]))
        #expect(r.status == 200)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        let node = try #require((obj["nodes"] as? [[String: Any]])?.first)
        #expect(node["ok"] as? Bool == true, "\(node["error"] ?? "")")
        #expect(node["total"] as? Int == 1)
        let events = (obj["events"] as? [Any])?.count ?? 0, dropped = obj["events_dropped"] as? Int ?? 0
        #expect(events + dropped >= changes, "\(events) events listed, \(dropped) dropped, of \(changes)")
    }

    /// Settings outside their documented ranges fail the view when it is made, naming the
    /// setting (nothing is raised or lowered silently); the edges of each range are accepted.
    @Test func aSettingOutsideItsRangeFailsTheViewNamingIt() {
        func refused(_ make: () throws -> Any) -> String? {
            do { _ = try make(); return nil } catch let e as ClusterSettingError { return e.setting } catch { return "\(error)" }
        }
        #expect(refused { try ClusterView(selfName: "a", peers: []) } == nil)
        #expect(refused { try ClusterView(selfName: "a", peers: [], timeout: .milliseconds(1), maxBodyBytes: 1024, maxColumns: 1, remember: .zero) } == nil)
        #expect(refused { try ClusterView(selfName: "a", peers: [], timeout: .seconds(60), maxBodyBytes: 1 << 30, remember: .seconds(604_800)) } == nil)
        #expect(refused { try ClusterView(selfName: "a", peers: [], timeout: .zero) } == "timeout")
        #expect(refused { try ClusterView(selfName: "a", peers: [], timeout: .microseconds(999)) } == "timeout")
        #expect(refused { try ClusterView(selfName: "a", peers: [], timeout: .seconds(61)) } == "timeout")
        #expect(refused { try ClusterView(selfName: "a", peers: [], maxBodyBytes: 1023) } == "maxBodyBytes")
        #expect(refused { try ClusterView(selfName: "a", peers: [], maxBodyBytes: Int.max) } == "maxBodyBytes")
        #expect(refused { try ClusterView(selfName: "a", peers: [], maxColumns: 0) } == "maxColumns")
        #expect(refused { try ClusterView(selfName: "a", peers: [], remember: .seconds(-1)) } == "remember")
        #expect(refused { try ClusterView(selfName: "a", peers: [], remember: .seconds(Int64.max)) } == "remember")
        #expect(refused { try PrometheusView(url: "http://127.0.0.1:9090", selector: .everything) } == nil)
        #expect(refused { try PrometheusView(url: "http://127.0.0.1:9090", selector: .everything, stepMs: 999) } == "stepMs")
        #expect(refused { try PrometheusView(url: "http://127.0.0.1:9090", selector: .everything, stepMs: 3_600_001) } == "stepMs")
        #expect(refused { try PrometheusView(url: "http://127.0.0.1:9090", selector: .everything, timeout: .seconds(61)) } == "timeout")
        #expect(refused { try PrometheusView(url: "https://127.0.0.1:9090", selector: .everything) } == "url")
        #expect(refused { try PrometheusView(url: "http://127.0.0.1", selector: .everything) } == "url")
    }
}

/// A loopback port that was just bound and closed, so nothing listens on it.
private func ephemeralClosedPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    close(fd)
    return UInt16(bigEndian: addr.sin_port)
}
