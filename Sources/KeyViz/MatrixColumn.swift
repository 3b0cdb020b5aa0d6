/// One flushed column of the heat matrix with all four counters per route: what a status line
/// or a top-N view needs when it must not mix two columns (see ``HeatMatrixSampler/newestColumn()``).
public struct MatrixColumn: Sendable, Equatable {
    /// The end of the column's window, Unix milliseconds.
    public var unixMs: Int64
    /// Routes with traffic in this column (the route as it was when the column was flushed).
    public var routes: [Route]
    /// `counts[i]` belongs to `routes[i]`.
    public var counts: [OpCounts]
    /// Observations whose route was unknown.
    public var unrouted: OpCounts

    public init(unixMs: Int64, routes: [Route], counts: [OpCounts], unrouted: OpCounts) {
        self.unixMs = unixMs
        self.routes = routes
        self.counts = counts
        self.unrouted = unrouted
    }

    /// The route with the most operations (reads + writes) and its share of all routed
    /// operations in this column; nil when the column saw none.
    public var hottestRoute: (route: Route, operations: UInt64, share: Double)? {
        var best = -1, bestOps: UInt64 = 0, total: UInt64 = 0
        for (i, c) in counts.enumerated() {
            let ops = c.operations
            total &+= ops
            if ops > bestOps { best = i; bestOps = ops }
        }
        guard best >= 0, total > 0 else { return nil }
        return (routes[best], bestOps, Double(bestOps) / Double(total))
    }
}
