import KeyViz
import KeyVizCluster

/// `peer-answer`: the input is a peer's 200 body to `GET /api/v1/keyviz/matrix?scope=local`,
/// merged by `ClusterView` with a fixed local matrix (`NodeMatrix.decode`, then
/// `ClusterMatrixMerger.merge`, then `MatrixJSON.encode`).
///
/// The input's length picks the row budget (1024, 1, 3 or 50) and whether one or two peers send
/// it. Checks: the answer is a well-formed matrix (docs/openapi.yaml) with every row one value
/// per column, at most the budget of rows and `ClusterMatrixMerger.defaultMaxColumns` columns,
/// rows disjoint in key order, one ascending grid on a multiple of the widest node step; the
/// peer is reported ok exactly when its body decodes, with its column count, and as a duplicate
/// exactly when its `node_id` was counted already; and the merged cells, unrouted counts and
/// events are exactly the counted nodes' (sums wrap at 2^64, as the merge's).
enum PeerAnswerTarget {
    static let budgets = [1024, 1, 3, 50]

    /// Answers every peer with the input, as a 200.
    struct InputPeer: PeerFetcher {
        let body: [UInt8]
        func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
            .success(PeerResponse(status: 200, body: body))
        }
    }

    static func evaluate(_ input: [UInt8]) async -> FuzzOutcome {
        var o = FuzzOutcome()
        let budget = budgets[input.count % budgets.count]
        let peerCount = 1 + (input.count / budgets.count) % 2
        let view = try! ClusterView(selfName: "local", peers: Array(Fixtures.peers.prefix(peerCount)), fetcher: InputPeer(body: input), timeout: .milliseconds(30_000))
        let body = await view.clusterMatrix(query: ["rows": String(budget)], local: Fixtures.localAnswer)
        let what = "cluster answer (rows=\(budget), \(peerCount) peer\(peerCount > 1 ? "s" : ""))"
        o.answers.append(.init(schema: "Matrix", label: what, status: 200, body: body))
        let rules = MatrixRules(maxRows: budget, maxColumns: ClusterMatrixMerger.defaultMaxColumns, scope: "cluster",
                                ascendingColumns: true, disjointRows: true)
        guard let m = AnswerChecks.matrix(body, rules: rules, what, &o) else { return o }

        let peer = try? NodeMatrix.decode(input)
        let local = Fixtures.local
        o.check(m.nodes.count == 1 + peerCount, "\(what): \(m.nodes.count) nodes listed for \(1 + peerCount)")
        o.check(m.nodes.first.map { $0.ok && !$0.duplicate && $0.columns == UInt64(local.columnUnixMs.count) } == true,
                "\(what): the local node is not listed first, ok and counted")
        // A peer is counted when its body decodes, once per node id (a repeated id is listed as a
        // duplicate and left out).
        var counted = 0
        for n in m.nodes.dropFirst() {
            o.check(n.ok == (peer != nil), "\(what): peer \(n.node) ok=\(n.ok) but its body \(peer == nil ? "does not decode" : "decodes")")
            o.check(n.duplicate == (peer?.nodeID != nil && (peer?.nodeID == local.nodeID || counted > 0)),
                    "\(what): peer \(n.node) duplicate=\(n.duplicate) with node id \(String(describing: peer?.nodeID))")
            if n.ok && !n.duplicate {
                counted += 1
                o.check(n.columns == UInt64(peer?.columnUnixMs.count ?? 0), "\(what): peer \(n.node) reported \(n.columns) columns")
            }
        }
        func cells(_ x: NodeMatrix) -> UInt64 { x.rows.reduce(0) { t, r in r.values.reduce(t, &+) } }
        var total = cells(local), unrouted = local.unrouted.reduce(0, &+), events = local.events.count
        var widest = local.stepMs
        if let peer, counted > 0 {
            for _ in 0..<counted {
                total &+= cells(peer)
                unrouted &+= peer.unrouted.reduce(0, &+)
                events += peer.events.count
            }
            widest = max(widest, peer.stepMs)
        }
        o.check(m.cellTotal == total, "\(what): merged cells sum to \(m.cellTotal), the counted nodes' to \(total)")
        o.check(m.unroutedTotal == unrouted, "\(what): merged unrouted sums to \(m.unroutedTotal), the counted nodes' to \(unrouted)")
        o.check(m.events == events, "\(what): \(m.events) events for the counted nodes' \(events)")
        o.check(m.stepMs >= widest && m.stepMs % widest == 0, "\(what): step_ms \(m.stepMs) is not a multiple of the widest node step \(widest)")
        return o
    }
}
