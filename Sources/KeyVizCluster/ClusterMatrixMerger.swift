public import KeyViz

/// Merges nodes' matrices into one cluster matrix, by key range (route ids are per node).
///
/// Semantics (docs/api.md, "Cluster view"):
/// - **Columns** are aligned on the step grid: a node's column stamped `t` goes to the grid point
///   `ceil(t / step) × step` (the end of the step window holding it); the output has every grid
///   point any node has, in order. Two columns of one node on the same point are summed. When
///   the grid would have more than `maxColumns` points (nodes far apart in time, or a hostile
///   peer's stamps), the step is doubled until it has not: coarser, still exact sums.
/// - **Rows**: node rows whose key ranges overlap (identical ranges included) are combined into
///   one row covering their union, values summed; then rows are merged down to the row budget
///   by the matrix's adjacent-merge rule (coldest neighbours first). Each output column's total
///   is therefore exactly the sum of the nodes' totals for the columns mapped to it (sums wrap
///   at 2^64; route counts stop at `Int.max`).
/// - **Unrouted** is summed per column; **events** of every node are concatenated, named by
///   node, oldest first.
///
/// Pure: no I/O. Memory is what the nodes sent plus the output: the merge is decided on row
/// totals, and values are allocated only for the output rows (at most the budget, 1 024) ×
/// the grid (at most `maxColumns`), never for the input rows × the grid.
public enum ClusterMatrixMerger {
    /// Output columns at most, by default: 1 024 rows × 4 096 columns × 8 B = 32 MiB per request.
    public static let defaultMaxColumns = 4096

    /// The merged matrix, the step it was merged on (`stepMs`, or a multiple when the grid was
    /// too wide) and the events named by node.
    public static func merge(_ nodes: [(node: String, matrix: NodeMatrix)], series: Series, stepMs: Int64, rows budget: Int,
                             maxColumns: Int = defaultMaxColumns)
        -> (matrix: HeatMatrix, stepMs: Int64, events: [(node: String?, event: RouteChangeEvent)], eventsDropped: UInt64) {
        // Columns: the grid points any node has, on a step coarse enough to keep it within bounds.
        let cap = max(1, maxColumns)
        var step = min(HeatMatrixSamplerConfiguration.maxTierStepMilliseconds, max(1, stepMs))
        // The same windows as the history tiers cut (and no overflow on a peer's extreme stamp).
        var grid: [Int64] = []
        while true {
            var points = Set<Int64>()
            for x in nodes { for t in x.matrix.columnUnixMs { points.insert(TieredHistory.windowEnd(t, step: step)) } }
            let (doubled, overflow) = step.multipliedReportingOverflow(by: 2)
            if points.count <= cap || overflow {
                grid = points.sorted()
                break
            }
            step = doubled
        }
        var gridIndex: [Int64: Int] = [:]
        for (i, t) in grid.enumerated() { gridIndex[t] = i }
        let columnMaps = nodes.map { x in x.matrix.columnUnixMs.map { gridIndex[TieredHistory.windowEnd($0, step: step)] ?? 0 } }

        // Rows: components of overlapping ranges, found by a sweep in start order, first as
        // ranges and totals only.
        var refs: [(node: Int, row: Int)] = []
        for (n, x) in nodes.enumerated() { for r in x.matrix.rows.indices { refs.append((n, r)) } }
        func row(_ ref: (node: Int, row: Int)) -> NodeMatrix.Row { nodes[ref.node].matrix.rows[ref.row] }
        refs.sort { a, b in
            let ra = row(a), rb = row(b)
            if ra.start != rb.start { return ra.start.lexicographicallyPrecedes(rb.start) }
            return (a.node, a.row) < (b.node, b.row)
        }
        var components: [HeatMatrixRow] = []     // values empty: filled for the output rows only
        var totals: [UInt64] = []
        var componentOf = [Int](repeating: 0, count: refs.count)
        var reach: [UInt8]? = nil     // the current component's end; [] = +infinity
        for (k, ref) in refs.enumerated() {
            let r = row(ref)
            let joins = reach.map { $0.isEmpty || r.start.lexicographicallyPrecedes($0) } ?? false
            if !joins {
                components.append(HeatMatrixRow(rowID: "", start: r.start, end: r.end, aggregate: false, routeIDs: [],
                                                routeIDsTruncated: true, routeCount: 0, values: []))
                totals.append(0)
                reach = r.end
            } else {
                components[components.count - 1].aggregate = true
                if let e = reach, !e.isEmpty, r.end.isEmpty || e.lexicographicallyPrecedes(r.end) {
                    reach = r.end
                    components[components.count - 1].end = r.end
                }
            }
            let c = components.count - 1
            componentOf[k] = c
            components[c].routeCount = saturatingSum(components[c].routeCount, r.routeCount)
            for v in r.values { totals[c] &+= v }
        }
        // The row budget, by the matrix's own rule, decided on the totals.
        let starts = AdjacentRowMerger.groups(totals: totals, budget: min(1024, max(1, budget)))
        var groupOf = [Int](repeating: 0, count: components.count)
        var out: [HeatMatrixRow] = []
        out.reserveCapacity(starts.count)
        for (g, first) in starts.enumerated() {
            let last = g + 1 < starts.count ? starts[g + 1] : components.count
            var merged = components[first]
            groupOf[first] = g
            for i in (first + 1)..<last {
                AdjacentRowMerger.absorb(&merged, components[i])
                groupOf[i] = g
            }
            merged.rowID = "range:\(g)"
            merged.values = [UInt64](repeating: 0, count: grid.count)
            out.append(merged)
        }
        for (k, ref) in refs.enumerated() {
            let g = groupOf[componentOf[k]], map = columnMaps[ref.node]
            for (j, v) in row(ref).values.enumerated() { out[g].values[map[j]] &+= v }
        }
        var unrouted = [UInt64](repeating: 0, count: grid.count)
        for (n, x) in nodes.enumerated() { for (j, v) in x.matrix.unrouted.enumerated() { unrouted[columnMaps[n][j]] &+= v } }

        var events: [(node: String?, event: RouteChangeEvent)] = []
        for x in nodes { for e in x.matrix.events { events.append((x.node, e)) } }
        events = events.enumerated().sorted { a, b in
            a.element.event.unixMs != b.element.event.unixMs ? a.element.event.unixMs < b.element.event.unixMs : a.offset < b.offset
        }.map(\.element)
        let dropped = nodes.reduce(UInt64(0)) { $0 &+ $1.matrix.eventsDropped }
        return (HeatMatrix(series: series, columnUnixMs: grid, rows: out, unrouted: unrouted), step, events, dropped)
    }

    private static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (s, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? Int.max : Int.min) : s
    }
}
