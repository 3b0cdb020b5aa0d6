public import KeyViz
public import KeyVizHTTPHandler
import Synchronization

/// The fan-out behind `GET /api/v1/keyviz/matrix?scope=cluster`: asks every peer for its
/// LOCAL matrix (`scope=local`, so a peer never fans out in turn), in parallel, each with a
/// timeout and a body cap, and merges the answers with this node's by key range
/// (``ClusterMatrixMerger``). The request itself never fails.
///
/// Each node is counted once: nodes report their `node_id` (`KeyVizHTTPHandler(nodeID:)`), and
/// an answer whose id was already counted (this node itself, or one node listed under two
/// names) is listed with `duplicate_of` and left out. So every node can be given the same peer
/// list, itself included.
///
/// A peer that fails (unreachable, slow, too large, not 200, a bad answer) is never silently
/// dropped: its last good answer for the same series and key range, if it is at most
/// `remember` old, is merged instead (cut to the requested time range), and its `nodes` entry
/// says `ok: false`, why, `stale: true`, since when it is missing and when it last answered.
/// Without such an answer it is listed as missing with those times, so the page can say which
/// key ranges lack a node's counts.
public final class ClusterView: ClusterMatrixSource, ClusterHotKeysSource {
    public let selfName: String
    public let peers: [PeerAddress]
    /// Per peer, connect to last byte (1 ms…60 s).
    public var timeout: Duration { .milliseconds(timeoutMs) }
    public let maxBodyBytes: Int
    /// Columns of the merged answer at most (``ClusterMatrixMerger``): a wider grid is merged
    /// on a coarser step, so one request's output is at most 1 024 rows × this × 8 B.
    public let maxColumns: Int
    /// How long a failed peer's last good answer stands in for it (0…7 days; zero: never).
    public var remember: Duration { .milliseconds(rememberMs) }
    private let timeoutMs: Int64
    private let rememberMs: Int64
    private let fetcher: any PeerFetcher
    /// Where the peer fetches run (nil: Swift's global concurrent executor).
    private let taskExecutor: (any TaskExecutor)?
    private let now: @Sendable () -> Int64
    private let memory = Mutex<[String: PeerMemory]>([:])

    /// Answers kept per peer (one per series and key range asked), so memory is bounded by
    /// peers × this × one answer.
    public static let rememberedAnswersPerPeer = 4

    private struct PeerMemory {
        var answers: [String: (matrix: NodeMatrix, atUnixMs: Int64)] = [:]
        var lastOkUnixMs: Int64?
        var missingSinceUnixMs: Int64?
    }

    /// The node ids counted so far in one answer, and the name each was counted under.
    private struct CountedNodes {
        private var names: [String: String] = [:]

        /// Whether the answer of `name` (reporting `id`) is counted: not when its id was
        /// counted already, and then `status` says under which name.
        mutating func admit(_ name: String, id: String?, into status: inout NodeStatus) -> Bool {
            status.nodeID = id
            guard let id else { return true }
            if let first = names[id] {
                status.duplicateOf = first
                return false
            }
            names[id] = name
            return true
        }
    }

    /// One `nodes` entry.
    private struct NodeStatus {
        /// `,"scope":"cluster","nodes":[…]` for an answer's top level: every entry's node, id,
        /// outcome, what it gave (`countName`) and duplicate; with `withTimes`, its total, whether
        /// stale, and when it last answered and went missing.
        static func scopeAndNodes(_ status: [NodeStatus], countName: String, withTimes: Bool) -> [UInt8] {
            var o: [UInt8] = Array(#","scope":"cluster","nodes":["#.utf8)
            func optional(_ v: (some BinaryInteger)?) -> String { v.map { String($0) } ?? "null" }
            func string(_ v: String?) {
                if let v { MatrixJSON.string(v, &o) } else { o.append(contentsOf: "null".utf8) }
            }
            for (i, s) in status.enumerated() {
                if i > 0 { o.append(UInt8(ascii: ",")) }
                o.append(contentsOf: #"{"node":"#.utf8); string(s.node)
                o.append(contentsOf: #","node_id":"#.utf8); string(s.nodeID)
                o.append(contentsOf: #","ok":\#(s.error == nil),"error":"#.utf8); string(s.error)
                o.append(contentsOf: #","\#(countName)":\#(s.columns),"duplicate_of":"#.utf8); string(s.duplicateOf)
                if withTimes {
                    o.append(contentsOf: #","total":\#(optional(s.total)),"stale":\#(s.stale),"last_ok_unix_ms":\#(optional(s.lastOkUnixMs)),"#.utf8)
                    o.append(contentsOf: #""missing_since_unix_ms":\#(optional(s.missingSinceUnixMs))"#.utf8)
                }
                o.append(UInt8(ascii: "}"))
            }
            o.append(UInt8(ascii: "]"))
            return o
        }

        var node: String
        var nodeID: String?
        var error: String?
        var columns = 0
        /// The node's operations in the answer (its values summed): a cell's per-node breakdown.
        var total: UInt64?
        var duplicateOf: String?
        var stale = false
        var lastOkUnixMs: Int64?
        var missingSinceUnixMs: Int64?
    }

    /// - Parameters:
    ///   - selfName: how this node is named in `nodes` and on its events.
    ///   - peers: the other nodes (this one may be among them: it is counted once), asked in parallel.
    ///   - fetcher: the transport (``HTTPPeerFetcher`` by default).
    ///   - timeout: per peer, connect to last byte (1 ms…60 s).
    ///   - maxBodyBytes: per peer answer (1 KiB…1 GiB).
    ///   - maxColumns: columns of the merged answer at most (1…100 000); a wider grid is
    ///     merged on a coarser step.
    ///   - remember: how long a failed peer's last good answer is merged in its place
    ///     (0…7 days; default 1 hour).
    ///   - now: the wall clock, Unix milliseconds (for the `nodes` times).
    ///   - taskExecutor: where the peer fetches and their deadline run, e.g. the executor the
    ///     host gave its `MetricsServer`. Each fetch is a task of its own that outlives a request
    ///     whose peers are late, and such a task does not inherit the requesting task's executor
    ///     preference, so it is given here; nil is Swift's global concurrent executor.
    /// - Throws: ``ClusterSettingError`` naming a setting outside its range.
    public init(selfName: String, peers: [PeerAddress], fetcher: any PeerFetcher = HTTPPeerFetcher(),
                timeout: Duration = .seconds(2), maxBodyBytes: Int = 32 << 20, maxColumns: Int = ClusterMatrixMerger.defaultMaxColumns,
                remember: Duration = .seconds(3600), now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds,
                taskExecutor: (any TaskExecutor)? = nil) throws(ClusterSettingError) {
        try ClusterSettingError.check("timeout", timeout, .milliseconds(1)...(.seconds(60)))
        try ClusterSettingError.check("maxBodyBytes", maxBodyBytes, 1024...(1 << 30))
        try ClusterSettingError.check("maxColumns", maxColumns, 1...HeatMatrixSamplerConfiguration.maxHistoryColumns)
        try ClusterSettingError.check("remember", remember, .zero...(.seconds(7 * 86_400)))
        self.selfName = selfName
        self.peers = peers
        self.fetcher = fetcher
        timeoutMs = timeout.milliseconds(within: 1...60_000)
        self.maxBodyBytes = maxBodyBytes
        self.maxColumns = maxColumns
        rememberMs = remember.milliseconds(within: 0...(7 * 86_400_000))
        self.now = now
        self.taskExecutor = taskExecutor
    }

    /// The path each peer is asked: the request's matrix parameters, all rows, `scope=local`.
    public static func peerPath(query: [String: String]) -> String {
        var parts = ["scope=local", "rows=1024"]
        for name in ["series", "from_unix_ms", "to_unix_ms", "start_key", "end_key", "resolution_ms"] {
            if let v = query[name], !v.isEmpty { parts.append(name + "=" + percentEncoded(v)) }
        }
        return "/api/v1/keyviz/matrix?" + parts.joined(separator: "&")
    }

    /// Every peer's answer to `path`, asked in parallel (nil: no answer within the timeout).
    /// Each fetch is a task of its own; the caller suspends until all have answered or the
    /// deadline passed, whichever is first. Each fetch keeps its own deadline; this one (a
    /// second later) only guards against a fetcher that does not, and a fetch still running
    /// then is left to end on its own.
    private func fetchAll(_ path: String) async -> [Result<PeerResponse, PeerFetchError>?] {
        guard !peers.isEmpty else { return [] }
        let fanOut = PeerFanOut(count: peers.count)
        return await withCheckedContinuation { (done: CheckedContinuation<[Result<PeerResponse, PeerFetchError>?], Never>) in
            fanOut.start(done)
            for (i, peer) in peers.enumerated() {
                Task(executorPreference: taskExecutor) { [fetcher, timeout, maxBodyBytes] in
                    fanOut.record(i, await fetcher.get(peer, path: path, timeout: timeout, maxBodyBytes: maxBodyBytes))
                }
            }
            let deadline = Task(executorPreference: taskExecutor) { [timeoutMs] in
                try? await Task.sleep(for: .milliseconds(timeoutMs + 1000))
                fanOut.finish()
            }
            fanOut.onFinish { deadline.cancel() }
        }
    }

    /// Why a fetched answer is no answer, or nil when it is a 200.
    private static func failure(_ r: Result<PeerResponse, PeerFetchError>?) -> String? {
        switch r {
        case nil: return "timed out"
        case .failure(let e)?: return e.message
        case .success(let r)? where r.status != 200:
            let text = String(decoding: r.body.prefix(200), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            return "HTTP \(r.status)" + (text.isEmpty ? "" : ": \(text)")
        case .success?: return nil
        }
    }

    /// `GET /api/v1/keyviz/hot-keys?scope=cluster`: every peer's hot keys (`scope=local`, same
    /// `op`) merged with this node's by ``NodeHotKeys/merge(_:limit:)``, each node counted once
    /// by its `node_id`, with a `nodes` list as the matrix has (no stale answers: hot keys are a
    /// view of now).
    public func clusterHotKeys(query: [String: String], localBody: [UInt8]) async -> [UInt8] {
        var path = "/api/v1/keyviz/hot-keys?scope=local"
        if let op = query["op"], !op.isEmpty { path += "&op=" + Self.percentEncoded(op) }
        let fetched = await fetchAll(path)
        var answers: [NodeHotKeys] = []
        var status: [NodeStatus] = []
        var counted = CountedNodes()
        func count(_ name: String, _ a: NodeHotKeys, into s: inout NodeStatus) {
            guard counted.admit(name, id: a.nodeID, into: &s) else { return }
            answers.append(a)
            s.columns = a.keys.count
        }
        var local: NodeHotKeys?
        do {
            let a = try NodeHotKeys.decode(localBody)
            local = a
            var s = NodeStatus(node: selfName)
            count(selfName, a, into: &s)
            status.append(s)
        } catch {
            status.append(NodeStatus(node: selfName, error: "this node's own hot keys did not decode: \(error)"))
        }
        for (i, peer) in peers.enumerated() {
            var s = NodeStatus(node: peer.description, error: Self.failure(fetched[i]))
            if s.error == nil, case .success(let r)? = fetched[i] {
                do {
                    count(peer.description, try NodeHotKeys.decode(r.body), into: &s)
                } catch {
                    s.error = "bad hot-keys answer: \(error)"
                }
            }
            status.append(s)
        }
        let keys = NodeHotKeys.merge(answers, limit: NodeHotKeys.maxKeys)
        let extra = NodeStatus.scopeAndNodes(status, countName: "keys", withTimes: false)
        let taken = answers.reduce(UInt64(0)) { $0 &+ $1.samplesTaken }, dropped = answers.reduce(UInt64(0)) { $0 &+ $1.samplesDropped }
        return HotKeysJSON.encode(keys, route: nil, sampleEvery: local?.sampleEvery ?? 0, samples: (taken, dropped),
                                  generatedAt: KeyVizHTTPHandler.rfc3339Now(), extra: extra)
    }

    public func clusterMatrix(query: [String: String], local: MatrixAnswer) async -> [UInt8] {
        let path = Self.peerPath(query: query)
        let fetched = await fetchAll(path)
        let nowMs = now()
        // A remembered answer is for the same series and key range; its columns are cut to the time asked.
        let answerKey = ["series", "start_key", "end_key"].map { query[$0] ?? "" }.joined(separator: "\u{1}")
        let from = query["from_unix_ms"].flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil }
        let to = query["to_unix_ms"].flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil }

        var nodes: [(node: String, matrix: NodeMatrix)] = []
        var status: [NodeStatus] = []
        var counted = CountedNodes()
        func count(_ name: String, _ m: NodeMatrix, into s: inout NodeStatus) {
            guard counted.admit(name, id: m.nodeID, into: &s) else { return }
            nodes.append((name, m))
            s.columns = m.columnUnixMs.count
            s.total = m.rows.reduce(UInt64(0)) { sum, row in row.values.reduce(sum, &+) }
        }
        var own = NodeStatus(node: selfName, lastOkUnixMs: nowMs)
        count(selfName, NodeMatrix(local), into: &own)
        status.append(own)
        for (i, peer) in peers.enumerated() {
            let name = peer.description
            var answer: NodeMatrix?
            var failure = Self.failure(fetched[i])
            if failure == nil, case .success(let r)? = fetched[i] {
                do {
                    answer = try NodeMatrix.decode(r.body)
                } catch {
                    failure = "bad matrix answer: \(error)"
                }
            }
            var s = NodeStatus(node: name, error: failure)
            let remembered: (matrix: NodeMatrix, atUnixMs: Int64)? = memory.withLock { all in
                var m = all[name] ?? PeerMemory()
                defer { all[name] = m }
                if let answer {
                    m.lastOkUnixMs = nowMs
                    m.missingSinceUnixMs = nil
                    if rememberMs > 0 {
                        if m.answers[answerKey] == nil, m.answers.count >= Self.rememberedAnswersPerPeer,
                           let oldest = m.answers.min(by: { $0.value.atUnixMs < $1.value.atUnixMs })?.key {
                            m.answers[oldest] = nil
                        }
                        m.answers[answerKey] = (answer, nowMs)
                    }
                } else if m.missingSinceUnixMs == nil {
                    m.missingSinceUnixMs = nowMs
                }
                s.lastOkUnixMs = m.lastOkUnixMs
                s.missingSinceUnixMs = m.missingSinceUnixMs
                guard answer == nil, let r = m.answers[answerKey], nowMs - r.atUnixMs <= rememberMs else { return nil }
                return r
            }
            if let answer {
                count(name, answer, into: &s)
            } else if let remembered {
                s.stale = true
                count(name, remembered.matrix.restricted(fromUnixMs: from, toUnixMs: to), into: &s)
            }
            status.append(s)
        }
        let series = query["series"].flatMap(Series.init(wireName:)) ?? .writes
        // With history tiers nodes can answer at different steps (other tiers, or an older range
        // one node no longer holds finely): merge on the widest, which sums the others exactly.
        let stepMs = nodes.map(\.matrix.stepMs).max() ?? 1000
        let merged = ClusterMatrixMerger.merge(nodes, series: series, stepMs: stepMs, rows: KeyVizHTTPHandler.rowBudget(query: query),
                                               maxColumns: maxColumns)
        let extra = NodeStatus.scopeAndNodes(status, countName: "columns", withTimes: true)
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
