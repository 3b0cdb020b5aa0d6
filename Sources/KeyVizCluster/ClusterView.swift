import Dispatch
import KeyViz
import KeyVizHTTPHandler
import Synchronization

/// The fan-out behind `GET /api/v1/keyviz/matrix?scope=cluster`: asks every peer for its
/// LOCAL matrix (`scope=local`, so a peer never fans out in turn), in parallel, each with a
/// timeout and a body cap, and merges the answers with this node's by key range
/// (``ClusterMatrixMerger``). A peer that fails (unreachable, slow, too large, not 200, bad
/// JSON) is listed in `nodes` with its error and left out; the request itself never fails.
public final class ClusterView: ClusterMatrixSource {
    public let selfName: String
    public let peers: [PeerAddress]
    public let timeoutMs: Int
    public let maxBodyBytes: Int
    /// Columns of the merged answer at most (``ClusterMatrixMerger``): a wider grid is merged
    /// on a coarser step, so one request's output is at most 1 024 rows × this × 8 B.
    public let maxColumns: Int
    private let fetcher: any PeerFetcher

    /// - Parameters:
    ///   - selfName: how this node is named in `nodes` and on its events.
    ///   - peers: the other nodes, asked in parallel.
    ///   - fetcher: the transport (``HTTPPeerFetcher`` by default).
    ///   - timeoutMs: per peer, connect to last byte (clamped 1…60 000).
    ///   - maxBodyBytes: per peer answer (clamped 1 KiB…1 GiB).
    public init(selfName: String, peers: [PeerAddress], fetcher: any PeerFetcher = HTTPPeerFetcher(),
                timeoutMs: Int = 2000, maxBodyBytes: Int = 32 << 20, maxColumns: Int = ClusterMatrixMerger.defaultMaxColumns) {
        self.selfName = selfName
        self.peers = peers
        self.fetcher = fetcher
        self.timeoutMs = min(60_000, max(1, timeoutMs))
        self.maxBodyBytes = min(1 << 30, max(1024, maxBodyBytes))
        self.maxColumns = min(HeatMatrixSamplerConfiguration.maxHistoryColumns, max(1, maxColumns))
    }

    /// The path each peer is asked: the request's matrix parameters, all rows, `scope=local`.
    public static func peerPath(query: [String: String]) -> String {
        var parts = ["scope=local", "rows=1024"]
        for name in ["series", "from_unix_ms", "to_unix_ms", "start_key", "end_key", "resolution_ms"] {
            if let v = query[name], !v.isEmpty { parts.append(name + "=" + percentEncoded(v)) }
        }
        return "/api/v1/keyviz/matrix?" + parts.joined(separator: "&")
    }

    public func clusterMatrix(query: [String: String], localBody: [UInt8]) -> [UInt8] {
        let path = Self.peerPath(query: query)
        let results = Mutex([Result<PeerResponse, PeerFetchError>?](repeating: nil, count: peers.count))
        let group = DispatchGroup()
        for (i, peer) in peers.enumerated() {
            DispatchQueue.global().async(group: group) { [fetcher, timeoutMs, maxBodyBytes] in
                let r = fetcher.get(peer, path: path, timeoutMs: timeoutMs, maxBodyBytes: maxBodyBytes)
                results.withLock { $0[i] = r }
            }
        }
        // Each fetch keeps its own deadline; this bound only guards against a fetcher that does not.
        _ = group.wait(timeout: .now() + .milliseconds(timeoutMs + 1000))
        let fetched = results.withLock { $0 }
        var nodes: [(node: String, matrix: NodeMatrix)] = []
        var status: [(node: String, error: String?, columns: Int)] = []
        do {
            let local = try NodeMatrix.decode(localBody)
            nodes.append((selfName, local))
            status.append((selfName, nil, local.columnUnixMs.count))
        } catch {
            status.append((selfName, "this node's own matrix did not decode: \(error)", 0))
        }
        for (i, peer) in peers.enumerated() {
            let name = peer.description
            switch fetched[i] {
            case nil:
                status.append((name, "timed out", 0))
            case .failure(let e)?:
                status.append((name, e.message, 0))
            case .success(let r)?:
                guard r.status == 200 else {
                    let text = String(decoding: r.body.prefix(200), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
                    status.append((name, "HTTP \(r.status)" + (text.isEmpty ? "" : ": \(text)"), 0))
                    continue
                }
                do {
                    let m = try NodeMatrix.decode(r.body)
                    nodes.append((name, m))
                    status.append((name, nil, m.columnUnixMs.count))
                } catch {
                    status.append((name, "bad matrix answer: \(error)", 0))
                }
            }
        }
        let series = query["series"].flatMap(Series.init(wireName:)) ?? .writes
        // With history tiers nodes can answer at different steps (other tiers, or an older range
        // one node no longer holds finely): merge on the widest, which sums the others exactly.
        let stepMs = nodes.map(\.matrix.stepMs).max() ?? 1000
        let merged = ClusterMatrixMerger.merge(nodes, series: series, stepMs: stepMs, rows: KeyVizHTTPHandler.rowBudget(query: query),
                                               maxColumns: maxColumns)
        var extra: [UInt8] = Array(#","scope":"cluster","nodes":["#.utf8)
        for (i, s) in status.enumerated() {
            if i > 0 { extra.append(UInt8(ascii: ",")) }
            extra.append(contentsOf: #"{"node":"#.utf8); MatrixJSON.string(s.node, &extra)
            extra.append(contentsOf: #","ok":\#(s.error == nil),"error":"#.utf8)
            if let e = s.error { MatrixJSON.string(e, &extra) } else { extra.append(contentsOf: "null".utf8) }
            extra.append(contentsOf: #","columns":\#(s.columns)}"#.utf8)
        }
        extra.append(UInt8(ascii: "]"))
        let generatedAt = nodes.first?.matrix.generatedAt ?? ""
        return MatrixJSON.encode(merged.matrix, generatedAt: generatedAt, stepMs: merged.stepMs, events: merged.events,
                                 eventsDropped: merged.eventsDropped, extra: extra)
    }

    private static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }
}
