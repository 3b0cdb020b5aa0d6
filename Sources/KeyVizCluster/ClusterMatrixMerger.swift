import KeyViz

/// Merges nodes' matrices into one cluster matrix, by key range (route ids are per node).
///
/// Semantics (docs/api.md, "Cluster view"):
/// - **Columns** are aligned on the step grid: a node's column stamped `t` goes to the grid point
///   `ceil(t / step) × step` (the end of the step window holding it); the output has every grid
///   point any node has, in order. Two columns of one node on the same point are summed.
/// - **Rows**: node rows whose key ranges overlap (identical ranges included) are combined into
///   one row covering their union, values summed; then rows are merged down to the row budget
///   by the matrix's adjacent-merge rule (coldest neighbours first). Each output column's total
///   is therefore exactly the sum of the nodes' totals for the columns mapped to it.
/// - **Unrouted** is summed per column; **events** of every node are concatenated, named by
///   node, oldest first.
///
/// Pure: no I/O, O(R log R + R × C) for R node rows and C output columns.
public enum ClusterMatrixMerger {
    /// The merged matrix and the events named by node.
    public static func merge(_ nodes: [(node: String, matrix: NodeMatrix)], series: Series, stepMs: Int64, rows budget: Int)
        -> (matrix: HeatMatrix, events: [(node: String?, event: RouteChangeEvent)], eventsDropped: UInt64) {
        let step = max(1, stepMs)
        // The same windows as the history tiers cut (and no overflow on a peer's extreme stamp).
        func slot(_ t: Int64) -> Int64 { TieredHistory.windowEnd(t, step: step) }
        // Columns: the grid points any node has.
        let grid = Array(Set(nodes.flatMap { $0.matrix.columnUnixMs.map(slot) })).sorted()
        var gridIndex: [Int64: Int] = [:]
        for (i, t) in grid.enumerated() { gridIndex[t] = i }
        let columnMaps = nodes.map { $0.matrix.columnUnixMs.map { gridIndex[slot($0)]! } }

        // Rows: components of overlapping ranges, found by a sweep in start order.
        var refs: [(node: Int, row: Int)] = []
        for (n, x) in nodes.enumerated() { for r in x.matrix.rows.indices { refs.append((n, r)) } }
        func row(_ ref: (node: Int, row: Int)) -> NodeMatrix.Row { nodes[ref.node].matrix.rows[ref.row] }
        refs.sort { a, b in
            let ra = row(a), rb = row(b)
            if ra.start != rb.start { return ra.start.lexicographicallyPrecedes(rb.start) }
            return (a.node, a.row) < (b.node, b.row)
        }
        var table: [HeatMatrixRow] = []
        var reach: [UInt8]? = nil     // the current component's end; [] = +infinity
        for ref in refs {
            let r = row(ref)
            let joins = reach.map { $0.isEmpty || r.start.lexicographicallyPrecedes($0) } ?? false
            if !joins {
                table.append(HeatMatrixRow(rowID: "", start: r.start, end: r.end, aggregate: false, routeIDs: [],
                                           routeIDsTruncated: true, routeCount: 0, values: Array(repeating: 0, count: grid.count)))
                reach = r.end
            } else {
                table[table.count - 1].aggregate = true
                if let e = reach, !e.isEmpty, r.end.isEmpty || e.lexicographicallyPrecedes(r.end) {
                    reach = r.end
                    table[table.count - 1].end = r.end
                }
            }
            let map = columnMaps[ref.node]
            table[table.count - 1].routeCount += r.routeCount
            for (j, v) in r.values.enumerated() { table[table.count - 1].values[map[j]] &+= v }
        }
        // The row budget, by the matrix's own rule.
        var out = AdjacentRowMerger.merge(table, budget: min(1024, max(1, budget)))
        for g in out.indices { out[g].rowID = "range:\(g)" }
        var unrouted = [UInt64](repeating: 0, count: grid.count)
        for (n, x) in nodes.enumerated() { for (j, v) in x.matrix.unrouted.enumerated() { unrouted[columnMaps[n][j]] &+= v } }

        var events: [(node: String?, event: RouteChangeEvent)] = []
        for x in nodes { for e in x.matrix.events { events.append((x.node, e)) } }
        events = events.enumerated().sorted { a, b in
            a.element.event.unixMs != b.element.event.unixMs ? a.element.event.unixMs < b.element.event.unixMs : a.offset < b.offset
        }.map(\.element)
        let dropped = nodes.reduce(UInt64(0)) { $0 &+ $1.matrix.eventsDropped }
        return (HeatMatrix(series: series, columnUnixMs: grid, rows: out, unrouted: unrouted), events, dropped)
    }
}
