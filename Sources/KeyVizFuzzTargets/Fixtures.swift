package import KeyViz
package import KeyVizCluster
package import KeyVizHTTPHandler
package import KeyVizPrometheus
import Synchronization

/// The fixed nodes the targets run against: built once, deterministically (seeded traffic, a
/// manual clock), read-only afterwards, so an input's outcome depends on the input alone.
package enum Fixtures {
    /// Every fixture's clock starts here (2023-11-14T22:13:20Z) and steps a second per flush.
    package static let baseUnixMs: Int64 = 1_700_000_000_000
    /// Flushes per node: more than the finest ring holds, so the coarser tier has columns.
    package static let flushes = 80
    /// The tiers of every fixture node (and of the `state-file` target's restoring sampler):
    /// small, so memory stays small whatever a file holds.
    package static let tiers = (step: Int64(1000), columns: 40, coarser: [HistoryTier(stepMilliseconds: 10_000, columns: 30),
                                                                          HistoryTier(stepMilliseconds: 3_600_000, columns: 24)])
    /// Columns a fixture node's answer can have at most: one tier's view holds that tier's columns
    /// and pending one, and at most one window per column of the finer tiers.
    package static let maxLocalColumns = 40 + 30 + 24 + 3

    package static func matrixConfiguration(clock: ManualClock) -> HeatMatrixSamplerConfiguration {
        HeatMatrixSamplerConfiguration(stepMilliseconds: tiers.step, historyColumns: tiers.columns, stripes: 1,
                                       coarserTiers: tiers.coarser, now: { clock.now })
    }

    /// A clock that moves only when told: columns and events get fixed stamps.
    package final class ManualClock: Sendable {
        private let ms: Mutex<Int64>
        package init(_ start: Int64) { ms = Mutex(start) }
        package var now: Int64 { ms.withLock { $0 } }
        package func set(_ v: Int64) { ms.withLock { $0 = v } }
    }

    /// A node: the sampler chain (hot keys → Prometheus → heat matrix) after seeded traffic,
    /// a split and a merge, behind a handler.
    package final class Node: Sendable {
        package let clock: ManualClock
        package let matrix: HeatMatrixSampler
        package let prometheus: PrometheusSampler<HeatMatrixSampler>
        package let hotKeys: HotKeySampler<PrometheusSampler<HeatMatrixSampler>>
        package let handler: KeyVizHTTPHandler

        init(seed: UInt64, routes: Int, width: Int, nodeID: String, cluster: (any ClusterMatrixSource)? = nil,
             prometheusView: (any ClusterMatrixSource)? = nil) {
            clock = ManualClock(Fixtures.baseUnixMs)
            matrix = HeatMatrixSampler(configuration: Fixtures.matrixConfiguration(clock: clock))
            prometheus = PrometheusSampler(wrapping: matrix, configuration: .init(bucketBudget: 8))
            hotKeys = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: 1, topKeys: 5, sketchCapacity: 16, trackedRoutes: 8,
                                                                              queueCapacity: 4096, now: { [clock] in clock.now }))
            var catalog = RouteCatalog.evenlySplit(count: routes, groups: 3, width: width)
            hotKeys.apply(catalog)
            var rng = SplitMix64(seed: seed)
            for k in 1...Fixtures.flushes {
                let stamp = Fixtures.baseUnixMs + Int64(k) * 1000
                clock.set(stamp - 500)
                if k == 30, let r = catalog.routes.dropFirst(routes / 2).first, !r.end.isEmpty {
                    // A split in the middle of the key space, at the middle of its range.
                    var mid = r.start
                    mid.append(UInt8(ascii: "5"))
                    if let split = try? catalog.splitting(r.id, at: mid, leftID: RouteID(1000 + seed), rightID: RouteID(2000 + seed)) {
                        catalog = split
                        hotKeys.apply(catalog)
                    }
                }
                if k == 60, catalog.routes.count > 3 {
                    let a = catalog.routes[1].id, b = catalog.routes[2].id
                    if let merged = try? catalog.merging(a, b, into: RouteID(3000 + seed)) {
                        catalog = merged
                        hotKeys.apply(catalog)
                    }
                }
                // Skewed traffic: a hot spot that moves with time, plus a little unrouted.
                for _ in 0..<40 {
                    let r = rng.next()
                    let hot = (k / 30) * 1_000 + Int(r % 977)
                    let n = r % 4 == 0 ? Int(r >> 8 % 10_000) : hot
                    let key = Array("key/\(String(repeating: "0", count: max(0, width - String(n).count)))\(n)".utf8)
                    guard let route = catalog.route(forKey: key) else { continue }
                    hotKeys.observe(route: route.id, op: r & 1 == 0 ? .read : .write, key: key, valueLength: Int(r >> 40 % 200))
                }
                if k % 7 == 0 { hotKeys.observe(route: RouteID(999_999), op: .write, keyLength: 3, valueLength: 5) }
                clock.set(stamp)
                matrix.flush(atUnixMs: stamp)
            }
            hotKeys.drain()
            handler = KeyVizHTTPHandler(metrics: prometheus, matrix: matrix, hotKeys: hotKeys, cluster: cluster, prometheus: prometheusView,
                                        nodeID: nodeID)
        }

        /// This node's local matrix answer.
        package func matrixBody(_ query: [String: String] = [:]) -> [UInt8] {
            // A local matrix answer waits for nothing, so it is had without a task.
            handler.answerWithoutWaiting(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: query))!.body
        }
    }

    /// Two peers, answering in process: `peer-a` has the node's 16 routes, `peer-b` 8 (each of its
    /// ranges covers two of the node's), and each split and merged its own (so some ranges
    /// overlap partly when merged, as a catalog change reaches nodes at different times).
    package static let peerA = Node(seed: 11, routes: 16, width: 8, nodeID: "node-a")
    package static let peerB = Node(seed: 12, routes: 8, width: 8, nodeID: "node-b")
    package static let peers: [PeerAddress] = [PeerAddress(host: "peer-a", port: 9477), PeerAddress(host: "peer-b", port: 9477)]

    /// The node the `query` target asks: peers `peer-a` and `peer-b` answered in process, and a
    /// canned Prometheus.
    package static let node: Node = {
        let fetcher = InProcessPeers(["peer-a:9477": peerA.handler, "peer-b:9477": peerB.handler])
        // A generous timeout: an in-process peer always answers, and a slow (sanitized, shared)
        // machine must not turn that into a failed peer.
        let cluster = try! ClusterView(selfName: "local", peers: peers, fetcher: fetcher, timeout: .milliseconds(30_000))
        let prometheus = try! PrometheusView(url: "http://prometheus:9090", selector: selector, stepMs: 15_000, timeout: .milliseconds(30_000),
                                             fetcher: CannedPrometheus())
        return Node(seed: 10, routes: 16, width: 8, nodeID: "node-0", cluster: cluster, prometheusView: prometheus)
    }()

    /// The store the Prometheus views read (`{job="keyviz"}`).
    package static let selector = try! PrometheusSelector(parsing: #"{job="keyviz"}"#)

    /// The local answer the `peer-answer` target merges the input with (node `node-a`), and the
    /// same as the cluster view reads it.
    package static let localAnswer: MatrixAnswer = peerA.handler.localMatrixAnswer(query: ["rows": "1024"])!
    package static let local = NodeMatrix(localAnswer)
}

/// A `/metrics` source that renders nothing: for handlers made per input (a real sampler would
/// keep every handler's HTTP metrics registered).
package struct NullExposition: MetricsExposition {
    package init() {}
    package func render(format: ExpositionFormat) -> [UInt8] { Array("# nothing\n".utf8) }
    package func register(_ collector: any MetricsCollector) {}
}

/// Peers answered by handlers in this process: the path is split and percent-decoded like a
/// server would, and the handler answers it.
package struct InProcessPeers: PeerFetcher {
    let handlers: [String: KeyVizHTTPHandler]

    package init(_ handlers: [String: KeyVizHTTPHandler]) {
        self.handlers = handlers
    }

    package func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        guard let handler = handlers[peer.description] else { return .failure(PeerFetchError("no such peer")) }
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = QueryString.parse(Array((parts.count > 1 ? parts[1] : "").utf8)).query
        // A peer is only ever asked for its own matrix: anything else is a failed peer, which
        // the targets treat as a broken invariant.
        guard parts[0] == "/api/v1/keyviz/matrix", query["scope"] == "local" else {
            return .success(PeerResponse(status: 500, body: Array("asked \(path) instead of a local matrix".utf8)))
        }
        let r = await handler.handle(KeyVizHTTPRequest(method: "GET", path: String(parts[0]), query: query))
        guard r.body.count <= maxBodyBytes else { return .failure(PeerFetchError("body over the cap")) }
        return .success(PeerResponse(status: r.status, body: r.body))
    }
}

/// A Prometheus that answers any `query_range` with three buckets' samples on the asked grid
/// (the first and last points of it) and any instant `query` with their axis and start labels.
package struct CannedPrometheus: PeerFetcher {
    package init() {}

    package func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let q = QueryString.parse(Array((parts.count > 1 ? parts[1] : "").utf8)).query
        if parts[0].hasSuffix("/api/v1/query_range") {
            guard let start = q["start"].flatMap(Double.init), let end = q["end"].flatMap(Double.init), let step = q["step"].flatMap(Double.init),
                  step > 0, end >= start else {
                return .success(PeerResponse(status: 400, body: Array(#"{"status":"error","errorType":"bad_data","error":"bad range"}"#.utf8)))
            }
            let points = min(100_000, Int((end - start) / step) + 1)
            let head = min(points, 20)
            let shown = Array(0..<head) + Array(max(head, points - 20)..<points)
            var body = #"{"status":"success","data":{"resultType":"matrix","result":["#
            for (i, bucket) in ["(begin)", "key/0000", "0x6b65792f35"].enumerated() {
                if i > 0 { body += "," }
                body += #"{"metric":{"bucket":"\#(bucket)"},"values":["#
                body += shown.map { k in
                    let t = start + Double(k) * step
                    return "[\(t),\"\(Double((k * 7 + i * 13) % 50) + 0.4)\"]"
                }.joined(separator: ",")
                body += "]}"
            }
            body += "]}}"
            return .success(PeerResponse(status: 200, body: Array(body.utf8)))
        }
        if parts[0].hasSuffix("/api/v1/query") {
            let body = #"{"status":"success","data":{"resultType":"vector","result":["#
                + #"{"metric":{"bucket":"(begin)","axis":"00","start":"(begin)"},"value":[1,"1"]},"#
                + #"{"metric":{"bucket":"key/0000","axis":"6b65792f30303030","start":"key/0000"},"value":[1,"1"]},"#
                + #"{"metric":{"bucket":"0x6b65792f35","axis":"6b65792f35","start":"0x6b65792f35"},"value":[1,"1"]}]}}"#
            return .success(PeerResponse(status: 200, body: Array(body.utf8)))
        }
        return .success(PeerResponse(status: 404, body: Array("404 page not found".utf8)))
    }
}

/// A query string as a server decodes it: split on `&`, then on the first `=`, `+` as a space,
/// `%XX` decoded (a bad escape kept as is), names and values as UTF-8 (invalid bytes
/// replaced); the first of a repeated name wins. Names the handler reads as headers go to
/// `headers` too (so the `query` target reaches `Accept` and the scrape timeout).
package enum QueryString {
    package static func parse(_ bytes: [UInt8]) -> (query: [String: String], headers: [String: String]) {
        var query: [String: String] = [:]
        var headers: [String: String] = [:]
        for item in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let eq = item.firstIndex(of: UInt8(ascii: "="))
            let name = decode(item[..<(eq ?? item.endIndex)])
            let value = eq.map { decode(item[($0 + 1)...]) } ?? ""
            if query[name] == nil { query[name] = value }
            if KeyVizHTTPRequest.readHeaders.contains(name.lowercased()), headers[name.lowercased()] == nil { headers[name.lowercased()] = value }
        }
        return (query, headers)
    }

    static func decode(_ s: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while i < s.endIndex {
            let b = s[i]
            if b == UInt8(ascii: "%"), i + 2 < s.endIndex, let h = hex(s[i + 1]), let l = hex(s[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
