/// The heat matrix's columns in tiers (see ``HistoryTier``): the finest ring, then coarser rings.
///
/// Columns move one way: a column pushed out of tier `t`'s ring is added into tier `t + 1`'s
/// pending column, the one whose window (a wall-clock multiple of that tier's step) holds the
/// column's stamp; when a column of a later window arrives, the pending column is complete and
/// is pushed into tier `t + 1`'s ring, and so on; what leaves the coarsest ring is dropped
/// (counted in `dropped`). So the tiers never overlap in time, oldest to newest: coarsest ring,
/// its pending column, the next finer ring, …, the finest ring; and every count flushed is in
/// exactly one place: a column of some tier, or `dropped`.
package struct TieredHistory {
    struct Tier {
        let step: Int64
        let capacity: Int
        var ring: [MatrixColumn] = []
        var head = 0                          // index of the oldest column once the ring is full
        var pending: MatrixColumn?
        var pendingIndex = ColumnIndex()
        /// A column has left this tier's ring: older times are no longer at this resolution.
        var evicted = false

        init(step: Int64, capacity: Int) {
            self.step = step
            self.capacity = capacity
        }

        var oldest: MatrixColumn? { ring.isEmpty ? nil : ring[head] }
        var newest: MatrixColumn? { ring.isEmpty ? nil : ring[(head + ring.count - 1) % ring.count] }

        /// The ring oldest first.
        var ordered: [MatrixColumn] {
            guard head > 0 else { return ring }
            return Array(ring[head...]) + ring[..<head]
        }
    }

    /// Where each route is in a column being summed. Keyed by id (cheap to hash) and checked
    /// against the whole route, which within a process is one-to-one with its id; a restored
    /// history can use an id for another key range, and those routes go by their whole value.
    struct ColumnIndex {
        var byID: [RouteID: Int] = [:]
        var others: [Route: Int] = [:]

        init() {}

        init(_ c: MatrixColumn) {
            for (i, r) in c.routes.enumerated() where position(of: r, in: c) == nil { insert(r, at: i) }
        }

        func position(of route: Route, in sum: MatrixColumn) -> Int? {
            guard let i = byID[route.id] else { return nil }
            return sum.routes[i] == route ? i : others[route]
        }

        mutating func insert(_ route: Route, at i: Int) {
            if byID[route.id] == nil { byID[route.id] = i } else { others[route] = i }
        }
    }

    private(set) var tiers: [Tier]
    /// Everything that left the coarsest tier.
    private(set) var dropped = (routed: OpCounts(), unrouted: OpCounts())

    init(_ layout: [HistoryTier]) {
        tiers = layout.map { Tier(step: max(1, $0.stepMilliseconds), capacity: max(1, $0.columns)) }
    }

    var isEmpty: Bool { tiers.allSatisfy { $0.ring.isEmpty && $0.pending == nil } }

    /// The end of the window holding `unixMs` at `step`: the smallest multiple of `step` at or
    /// after it (windows are `(end - step, end]`, as a flushed column covers the time before its stamp).
    package static func windowEnd(_ unixMs: Int64, step: Int64) -> Int64 {
        let q = unixMs / step, r = unixMs % step
        let k = r > 0 ? q + 1 : q                   // ceiling for either sign
        let (end, overflow) = k.multipliedReportingOverflow(by: step)
        return overflow ? (k > 0 ? Int64.max / step * step : Int64.min / step * step) : end
    }

    /// A newly flushed column, into the finest ring.
    mutating func append(_ column: MatrixColumn) {
        push(column, into: 0)
    }

    private mutating func push(_ column: MatrixColumn, into t: Int) {
        var evicted: MatrixColumn?
        if tiers[t].ring.count < tiers[t].capacity {
            tiers[t].ring.append(column)
        } else {
            evicted = tiers[t].ring[tiers[t].head]
            tiers[t].ring[tiers[t].head] = column
            tiers[t].head = (tiers[t].head + 1) % tiers[t].capacity
            tiers[t].evicted = true
        }
        guard let evicted else { return }
        if t + 1 < tiers.count {
            absorb(evicted, into: t + 1)
        } else {
            for c in evicted.counts { dropped.routed += c }
            dropped.unrouted += evicted.unrouted
        }
    }

    /// Adds `column` into tier `t`'s pending column (t ≥ 1), first completing the pending column
    /// when `column` belongs to a later window. A column of an earlier window (the clock went
    /// back) joins the pending one: sums stay exact, stamps never go back.
    mutating func absorb(_ column: MatrixColumn, into t: Int) {
        let end = Self.windowEnd(column.unixMs, step: tiers[t].step)
        if let p = tiers[t].pending, end > p.unixMs {
            tiers[t].pending = nil
            tiers[t].pendingIndex = ColumnIndex()
            push(p, into: t)
        }
        if tiers[t].pending == nil {
            tiers[t].pending = MatrixColumn(unixMs: end, routes: [], counts: [], unrouted: .zero)
        }
        var sum = tiers[t].pending!, index = tiers[t].pendingIndex
        tiers[t].pending = nil                  // keep `sum` and `index` uniquely referenced
        tiers[t].pendingIndex = ColumnIndex()
        Self.add(column, to: &sum, index: &index)
        tiers[t].pending = sum
        tiers[t].pendingIndex = index
    }

    /// Adds `column`'s counts into `sum`, route by route (`index`: route → position in `sum`).
    static func add(_ column: MatrixColumn, to sum: inout MatrixColumn, index: inout ColumnIndex) {
        sum.unrouted += column.unrouted
        for (route, counts) in zip(column.routes, column.counts) {
            if let i = index.position(of: route, in: sum) {
                sum.counts[i] += counts
            } else {
                index.insert(route, at: sum.routes.count)
                sum.routes.append(route)
                sum.counts.append(counts)
            }
        }
    }

    /// The newest column of the finest ring.
    var newest: MatrixColumn? { tiers[0].newest }

    /// The view (tier index) a snapshot should use: the finest tier whose step is at least
    /// `resolution` (nil: the finest; the coarsest when none is), or a coarser one while the
    /// chosen tier does not hold `from`. Without `from`, no coverage is asked for.
    func view(resolution: Int64?, from: Int64?) -> Int {
        var v = resolution.map(finestTier(atLeast:)) ?? 0
        guard let from else { return v }
        while v < tiers.count - 1, !covers(v, from: from) { v += 1 }
        return v
    }

    /// The finest tier whose step is at least `step`; the coarsest when none is.
    private func finestTier(atLeast step: Int64) -> Int {
        tiers.firstIndex { $0.step >= step } ?? tiers.count - 1
    }

    /// Whether view `v` holds everything from `from` on: yes when nothing older than its oldest
    /// column exists anywhere (nothing left it, no coarser tier has columns: e.g. after a
    /// restore), else when its oldest column's window starts at or before `from`.
    func covers(_ v: Int, from: Int64) -> Bool {
        let olderElsewhere = tiers[v].evicted || tiers[(v + 1)...].contains { !$0.ring.isEmpty || $0.pending != nil }
        guard olderElsewhere else { return true }
        guard let oldest = tiers[v].oldest ?? tiers[v].pending else { return false }
        return oldest.unixMs &- tiers[v].step <= from
    }

    /// The columns of view `v` stamped in `[from, to)`, oldest first: tier `v`'s ring and pending
    /// column, then every finer tier's columns summed into tier `v`'s windows (the newest of
    /// which may still be filling). View 0 is the finest ring as flushed.
    func columns(view v: Int, from: Int64?, to: Int64?) -> [MatrixColumn] {
        func keep(_ t: Int64) -> Bool { (from.map { t >= $0 } ?? true) && (to.map { t < $0 } ?? true) }
        if v == 0 { return tiers[0].ordered.filter { keep($0.unixMs) } }
        let step = tiers[v].step
        var out: [MatrixColumn] = tiers[v].ordered.filter { keep($0.unixMs) }
        var sources: [MatrixColumn] = []
        if let p = tiers[v].pending { sources.append(p) }
        for t in stride(from: v - 1, through: 0, by: -1) {
            sources.append(contentsOf: tiers[t].ordered)
            if t > 0, let p = tiers[t].pending { sources.append(p) }
        }
        var current: MatrixColumn?
        var index = ColumnIndex()
        for c in sources {
            let end = Self.windowEnd(c.unixMs, step: step)
            guard keep(end) else { continue }
            if let cur = current, cur.unixMs != end {
                out.append(cur)
                current = nil
                index = ColumnIndex()
            }
            if current == nil {
                if c.unixMs == end {
                    current = c         // already one whole window (or the start of one): no copy
                    index = ColumnIndex(c)
                    continue
                }
                current = MatrixColumn(unixMs: end, routes: [], counts: [], unrouted: .zero)
            }
            Self.add(c, to: &current!, index: &index)
        }
        if let current { out.append(current) }
        return out
    }

    // MARK: saving and restoring

    var history: MatrixHistory {
        MatrixHistory(tiers: tiers.map { MatrixHistory.Tier(stepMilliseconds: $0.step, columns: $0.ordered, pending: $0.pending) })
    }

    /// Feeds a saved history in, oldest first: each saved tier's columns enter the finest tier
    /// of this layout whose step is at least theirs (the coarsest when none is), the finest ring
    /// as they are, coarser tiers through their pending column, so they are re-cut to this
    /// layout's windows when it differs from the saved one.
    mutating func restore(_ saved: MatrixHistory) {
        for t in saved.tiers.reversed() {
            for c in t.columns { restore(c, savedStep: t.stepMilliseconds) }
            if let p = t.pending { restore(p, savedStep: t.stepMilliseconds) }
        }
    }

    /// One saved column, fed in oldest first (see ``restore(_:)``).
    mutating func restore(_ column: MatrixColumn, savedStep: Int64) {
        let target = finestTier(atLeast: savedStep)
        if target == 0 { push(column, into: 0) } else { absorb(column, into: target) }
    }
}
