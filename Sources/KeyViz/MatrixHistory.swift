/// A heat matrix's whole history as plain values: every tier's columns, finest tier first. What
/// ``HeatMatrixSampler/savedHistory()`` takes and ``HeatMatrixSampler/restore(_:)`` puts back, and
/// what ``MatrixHistoryCodec`` writes to bytes, so a node can keep its history across a restart.
public struct MatrixHistory: Sendable, Equatable {
    /// One tier's columns.
    public struct Tier: Sendable, Equatable {
        /// The tier's column width. The finest tier's columns are stamped at flush times; the
        /// others' at wall-clock multiples of this step.
        public var stepMilliseconds: Int64
        /// Complete columns, oldest first.
        public var columns: [MatrixColumn]
        /// The column being summed from what left the finer tier (newer than `columns`, older
        /// than the finer tier's columns); nil for the finest tier or when empty.
        public var pending: MatrixColumn?

        public init(stepMilliseconds: Int64, columns: [MatrixColumn], pending: MatrixColumn? = nil) {
            self.stepMilliseconds = stepMilliseconds
            self.columns = columns
            self.pending = pending
        }
    }

    /// Finest first (so newest data first); within a tier, oldest column first.
    public var tiers: [Tier]
    /// The route changes the matrix reported beside its columns (splits and merges on the
    /// page's time axis), oldest first, so they survive a restart with the columns.
    public var events: [RouteChangeEvent]

    public init(tiers: [Tier], events: [RouteChangeEvent] = []) {
        self.tiers = tiers
        self.events = events
    }

    /// Every column, oldest first: coarsest tier first, each tier's pending column after its
    /// complete ones.
    public var columnsOldestFirst: [MatrixColumn] {
        var out: [MatrixColumn] = []
        for t in tiers.reversed() {
            out.append(contentsOf: t.columns)
            if let p = t.pending { out.append(p) }
        }
        return out
    }

    /// The newest column's stamp, nil when there is none.
    public var newestUnixMs: Int64? {
        for t in tiers {
            if let p = t.pending { return p.unixMs }
            if let c = t.columns.last { return c.unixMs }
        }
        return nil
    }

    /// Columns in every tier, pending ones included.
    public var columnCount: Int { tiers.reduce(0) { $0 + $1.columns.count + ($1.pending == nil ? 0 : 1) } }

    /// The sum of every column, routed and unrouted.
    public var totals: (routed: OpCounts, unrouted: OpCounts) {
        var routed = OpCounts(), unrouted = OpCounts()
        for c in columnsOldestFirst {
            for n in c.counts { routed += n }
            unrouted += c.unrouted
        }
        return (routed, unrouted)
    }
}
