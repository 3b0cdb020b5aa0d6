import Foundation
import KeyViz
import KeyVizCluster
import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing

/// Peers answered in-process by their handlers (as `HTTPPeerFetcher` would over HTTP), with a
/// switch to make any of them fail.
private final class InProcessPeers: PeerFetcher {
    let handlers = Mutex<[String: KeyVizHTTPHandler]>([:])
    let down = Mutex<Set<String>>([])
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        if down.withLock({ $0.contains(peer.description) }) { return .failure(PeerFetchError("connect: Connection refused")) }
        guard let h = handlers.withLock({ $0[peer.description] }) else { return .failure(PeerFetchError("no such peer")) }
        let (p, q) = path.split(separator: "?", maxSplits: 1).map(String.init).splitFirst
        var query: [String: String] = [:]
        for item in URLComponents(string: "/?" + q)?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let r = await h.handle(KeyVizHTTPRequest(method: "GET", path: p, query: query))
        return .success(PeerResponse(status: r.status, body: r.body))
    }
}

private extension Array where Element == String {
    var splitFirst: (String, String) { (self[0], count > 1 ? self[1] : "") }
}

/// A node with its own traffic, named `name`, whose id is `id`.
private func node(_ name: String, id: String?, seed: UInt64, peers: [String], fetcher: InProcessPeers, clock: ManualClock,
                  remember: Duration = .seconds(3600)) throws -> KeyVizHTTPHandler {
    let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
    m.apply(.evenlySplit(count: 8, groups: 1))
    var rng = SplitMix64(seed: seed)
    for c in 0..<3 {
        for _ in 0..<(40 + c * 10) { m.observe(route: RouteID(1 + rng.next() % 8), op: .write, keyLength: 4, valueLength: 4) }
        m.flush(atUnixMs: 1_800_000_000_000 + Int64(c) * 1000)
    }
    let view = try ClusterView(selfName: name, peers: try peers.map { try PeerAddress(parsing: $0) }, fetcher: fetcher,
                           remember: remember, now: clock.function)
    let h = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m, cluster: view, nodeID: id)
    fetcher.handlers.withLock { $0[name] = h }
    return h
}

private func matrix(_ h: KeyVizHTTPHandler, _ query: [String: String]) async throws -> [String: Any] {
    let r = await h.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: query))
    #expect(r.status == 200)
    return try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
}

private func total(_ obj: [String: Any]) -> Int {
    (obj["rows"] as? [[String: Any]] ?? []).reduce(0) { $0 + (($1["values"] as? [Int]) ?? []).reduce(0, +) }
}

@Suite struct ClusterIdentityTests {
    /// One config for all: every node's peer list names all three, itself included; each node's
    /// cluster total is the three local totals, each counted once.
    @Test func identicalPeerListsCountEveryNodeOnce() async throws {
        let fetcher = InProcessPeers(), clock = ManualClock(startingAt: 1_800_000_003_000)
        let names = ["10.0.0.1:9477", "10.0.0.2:9477", "10.0.0.3:9477"]
        let handlers = try names.enumerated().map { i, n in try node(n, id: "node-\(i)", seed: UInt64(i + 1), peers: names, fetcher: fetcher, clock: clock) }
        var locals: [Int] = []
        for h in handlers { locals.append(total(try await matrix(h, [:]))) }
        #expect(locals.allSatisfy { $0 > 0 })
        for (i, h) in handlers.enumerated() {
            let cluster = try await matrix(h, ["scope": "cluster"])
            #expect(total(cluster) == locals.reduce(0, +), "node \(i)")
            let nodes = try #require(cluster["nodes"] as? [[String: Any]])
            #expect(nodes.count == 4)
            let duplicates = nodes.filter { $0["duplicate_of"] is String }
            #expect(duplicates.count == 1 && duplicates[0]["node"] as? String == names[i] && duplicates[0]["duplicate_of"] as? String == names[i])
            #expect(nodes.allSatisfy { $0["ok"] as? Bool == true })
        }
    }

    /// Two names for one node (an address and an alias) are one node.
    @Test func oneNodeUnderTwoNamesIsCountedOnce() async throws {
        let fetcher = InProcessPeers(), clock = ManualClock(startingAt: 1_800_000_003_000)
        let a = try node("10.0.0.1:1", id: "a", seed: 1, peers: ["10.0.0.2:1", "alias:1"], fetcher: fetcher, clock: clock)
        let b = try node("10.0.0.2:1", id: "b", seed: 2, peers: [], fetcher: fetcher, clock: clock)
        fetcher.handlers.withLock { $0["alias:1"] = b }
        let cluster = try await matrix(a, ["scope": "cluster"])
        await #expect(total(cluster) == total(try matrix(a, [:])) + total(try matrix(b, [:])))
        let alias = try #require((cluster["nodes"] as? [[String: Any]])?.last)
        #expect(alias["duplicate_of"] as? String == "10.0.0.2:1" && alias["node_id"] as? String == "b")
    }

    /// A peer that dies is never a silent drop: its last good answer stands in (stale, with
    /// since-when), so totals for the same columns do not fall; past the remember window it is
    /// listed as missing with its times.
    @Test func aDeadPeerIsShownStaleThenMissingNeverSilentlyDropped() async throws {
        let fetcher = InProcessPeers(), clock = ManualClock(startingAt: 1_800_000_003_000)
        let a = try node("10.0.0.1:1", id: "a", seed: 1, peers: ["10.0.0.2:1"], fetcher: fetcher, clock: clock, remember: .seconds(60))
        _ = try node("10.0.0.2:1", id: "b", seed: 2, peers: [], fetcher: fetcher, clock: clock)
        let query = ["scope": "cluster", "to_unix_ms": "1800000002500"]
        let healthy = try await matrix(a, query)
        clock.advance(5_000)
        fetcher.down.withLock { _ = $0.insert("10.0.0.2:1") }
        let dead = try await matrix(a, query)
        #expect(total(dead) == total(healthy))
        let peer = try #require((dead["nodes"] as? [[String: Any]])?.last)
        #expect(peer["ok"] as? Bool == false && peer["stale"] as? Bool == true)
        #expect((peer["error"] as? String)?.contains("refused") == true)
        #expect(peer["missing_since_unix_ms"] as? Int == 1_800_000_008_000 && peer["last_ok_unix_ms"] as? Int == 1_800_000_003_000)
        #expect((peer["columns"] as? Int ?? 0) > 0)
        // Past the window: missing, its times kept, nothing merged in its place.
        clock.advance(60_001)
        let gone = try await matrix(a, query)
        let missing = try #require((gone["nodes"] as? [[String: Any]])?.last)
        #expect(missing["stale"] as? Bool == false && missing["columns"] as? Int == 0)
        #expect(missing["missing_since_unix_ms"] as? Int == 1_800_000_008_000)
        await #expect(total(gone) == total(try matrix(a, ["to_unix_ms": "1800000002500"])))
        // Back: ok again, no missing time.
        fetcher.down.withLock { $0.removeAll() }
        let backAnswer = try await matrix(a, query)
        let back = try #require((backAnswer["nodes"] as? [[String: Any]])?.last)
        #expect(back["ok"] as? Bool == true && back["missing_since_unix_ms"] is NSNull && back["stale"] as? Bool == false)
    }
}

@Suite struct ClusterHotKeysTests {
    /// The hot-keys panel in cluster scope: every node's sketch merged (counts add up per key),
    /// each node once, and a route filter refused (route ids are per node).
    @Test func clusterHotKeysAddUpPerKeyAcrossNodesCountingEachOnce() async throws {
        let fetcher = InProcessPeers()
        let names = ["10.0.0.1:1", "10.0.0.2:1"]
        var samplers: [HotKeySampler<PrometheusSampler<HeatMatrixSampler>>] = []
        for (i, name) in names.enumerated() {
            let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000))
            let prometheus = PrometheusSampler(wrapping: matrix)
            let hot = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: 1, topKeys: 4, windowMilliseconds: 0))   // no halving: a slow run must not change the counts
            hot.apply(.evenlySplit(count: 2, groups: 1))
            let view = try ClusterView(selfName: name, peers: try names.map { try PeerAddress(parsing: $0) }, fetcher: fetcher)
            let h = KeyVizHTTPHandler(metrics: prometheus, matrix: matrix, hotKeys: hot, cluster: view, nodeID: "n\(i)")
            fetcher.handlers.withLock { $0[name] = h }
            samplers.append(hot)
        }
        for (s, counts) in zip(samplers, [[("key/a", 6), ("key/b", 2)], [("key/a", 4), ("key/c", 5)]]) {
            for (key, n) in counts { for _ in 0..<n { s.observe(route: 1, op: .write, key: Array(key.utf8), valueLength: 0) } }
        }
        let a = try #require(fetcher.handlers.withLock { $0[names[0]] })
        let r = await a.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/hot-keys", query: ["scope": "cluster", "op": "write"]))
        #expect(r.status == 200)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        #expect(obj["scope"] as? String == "cluster")
        let keys = try #require(obj["keys"] as? [[String: Any]])
        #expect(keys.map { $0["key_preview"] as? String } == ["key/a", "key/c", "key/b"])
        #expect(keys.map { $0["estimated_operations"] as? Int } == [10, 5, 2])
        // key/a: 10 of the two routes' 8 + 9 operations.
        #expect(abs((keys[0]["share"] as? Double ?? 0) - 10.0 / 17.0) < 1e-6)
        let nodes = try #require(obj["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["duplicate_of"] as? String } == [nil, "10.0.0.1:1", nil])
        let filtered = await a.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/hot-keys", query: ["scope": "cluster", "route": "1"]))
        #expect(filtered.status == 400)
        let local = try #require(try JSONSerialization.jsonObject(with: Data(await a.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/hot-keys", query: [:])).body)) as? [String: Any])
        #expect(local["scope"] as? String == "local" && local["node_id"] as? String == "n0")
    }
}
