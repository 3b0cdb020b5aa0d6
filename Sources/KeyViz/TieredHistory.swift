/// The heat matrix's columns in tiers (see ``HistoryTier``): the finest ring, then coarser rings.
///
/// Columns move one way: a column pushed out of tier `t`'s ring is added into tier `t + 1`'s
/// pending column, the one whose window (a wall-clock multiple of that tier's step) holds the
/// column's stamp; when a column of a later window arrives, the pending column is complete and
/// is pushed into tier `t + 1`'s ring, and so on; what leaves the coarsest ring is dropped
/// (counted in `dropped`). So the tiers never overlap in time, oldest to newest: coarsest ring,
/// its pending column, the next finer ring, …, the finest ring; and every count flushed is in
/// exactly one place: a column of some tier, or `dropped`.
///
/// Columns refer to their routes through one ``RouteTable`` (``StoredColumn``): a snapshot sums
/// by array index, with no hashing or reference counting per cell.
package struct TieredHistory {
    struct Tier {
        let step: Int64
        let capacity: Int
        var ring: [StoredColumn] = []
        var head = 0                          // index of the oldest column once the ring is full
        /// The pending column while `hasPending` (its route map is kept between windows).
        var sum = ColumnSum(unixMs: 0)
        var hasPending = false
        /// A column has left this tier's ring: older times are no longer at this resolution.
        var evicted = false

        init(step: Int64, capacity: Int) {
            self.step = step
            self.capacity = capacity
        }

        var pendingUnixMs: Int64? { hasPending ? sum.unixMs : nil }
        var oldestUnixMs: Int64? { ring.isEmpty ? pendingUnixMs : ring[head].unixMs }
        var newest: StoredColumn? { ring.isEmpty ? nil : ring[(head + ring.count - 1) % ring.count] }

        /// The ring oldest first.
        var ordered: [StoredColumn] {
            guard head > 0 else { return ring }
            return Array(ring[head...]) + ring[..<head]
        }
    }

    private(set) var tiers: [Tier]
    private(set) var table = RouteTable()
    /// Everything that left the coarsest tier.
    private(set) var dropped = (routed: OpCounts(), unrouted: OpCounts())

    init(_ layout: [HistoryTier]) {
        tiers = layout.map { Tier(step: max(1, $0.stepMilliseconds), capacity: max(1, $0.columns)) }
    }

    var isEmpty: Bool { tiers.allSatisfy { $0.ring.isEmpty && !$0.hasPending } }

    /// The end of the window holding `unixMs` at `step`: the smallest multiple of `step` at or
    /// after it (windows are `(end - step, end]`, as a flushed column covers the time before its stamp).
    package static func windowEnd(_ unixMs: Int64, step: Int64) -> Int64 {
        let q = unixMs / step, r = unixMs % step
        let k = r > 0 ? q + 1 : q                   // ceiling for either sign
        let (end, overflow) = k.multipliedReportingOverflow(by: step)
        return overflow ? (k > 0 ? Int64.max / step * step : Int64.min / step * step) : end
    }

    /// One more use of `route` by a column about to be appended (see ``RouteTable/retain(_:hint:)``).
    mutating func retain(_ route: Route, hint: UInt32) -> UInt32 {
        table.retain(route, hint: hint)
    }

    /// Room for up to `additional` routes new to the table (a flush's count of touched slots).
    mutating func reserveRoutes(additional: Int) {
        table.reserve(additional: additional)
    }

    /// A newly flushed column whose references were retained (``retain(_:hint:)``), into the finest ring.
    mutating func append(_ column: StoredColumn) {
        push(column, into: 0)
    }

    /// A newly flushed column, into the finest ring.
    mutating func append(_ column: MatrixColumn) {
        push(stored(column), into: 0)
    }

    /// `column` with its routes retained in the table.
    private mutating func stored(_ column: MatrixColumn) -> StoredColumn {
        StoredColumn(unixMs: column.unixMs, refs: column.routes.map { table.retain($0) }, counts: column.counts,
                     unrouted: column.unrouted)
    }

    private mutating func push(_ column: StoredColumn, into t: Int) {
        var column = column
        // Dense traffic touches the same routes in the same order column after column: such a
        // column shares its predecessor's references (4 bytes less per entry), and a snapshot
        // reads them once for the whole run (see `StoredColumn.sharesRefs(with:)`).
        if let previous = tiers[t].newest, previous.refs == column.refs {     // identical buffers compare at once
            column.refs = previous.refs
        }
        var evicted: StoredColumn?
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
            dropped.routed += evicted.routedTotal
            dropped.unrouted += evicted.unrouted
        }
        for r in evicted.refs { table.release(r) }
    }

    /// Adds `column` into tier `t`'s pending column (t ≥ 1), first completing the pending column
    /// when `column` belongs to a later window. A column of an earlier window (the clock went
    /// back) joins the pending one: sums stay exact, stamps never go back. The caller keeps its
    /// own uses of `column`'s routes (the sum retains those it adds).
    private mutating func absorb(_ column: StoredColumn, into t: Int) {
        let end = Self.windowEnd(column.unixMs, step: tiers[t].step)
        if tiers[t].hasPending, end > tiers[t].sum.unixMs {
            tiers[t].hasPending = false
            let complete = tiers[t].sum.take()
            push(complete, into: t)
        }
        if !tiers[t].hasPending {
            tiers[t].hasPending = true
            tiers[t].sum.unixMs = end
        }
        var sum = tiers[t].sum
        tiers[t].sum = ColumnSum(unixMs: 0)     // keep `sum` uniquely referenced
        sum.add(column) { table.retain($0) }
        tiers[t].sum = sum
    }

    /// The newest column of the finest ring.
    var newest: MatrixColumn? { tiers[0].newest.map(matrixColumn) }

    /// A stored column as a value with whole routes.
    func matrixColumn(_ c: StoredColumn) -> MatrixColumn {
        MatrixColumn(unixMs: c.unixMs, routes: c.refs.map { table.routes[Int($0)] },
                     counts: (0..<c.count).map(c.counts(at:)), unrouted: c.unrouted)
    }

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
        let olderElsewhere = tiers[v].evicted || tiers[(v + 1)...].contains { !$0.ring.isEmpty || $0.hasPending }
        guard olderElsewhere else { return true }
        guard let oldest = tiers[v].oldestUnixMs else { return false }
        return oldest &- tiers[v].step <= from
    }

    /// The columns of view `v` stamped in `[from, to)`, oldest first: tier `v`'s ring and pending
    /// column, then every finer tier's columns summed into tier `v`'s windows (the newest of
    /// which may still be filling). View 0 is the finest ring as flushed. Their references are
    /// into ``table``; sums made here retain nothing (they live as long as this copy).
    func columns(view v: Int, from: Int64?, to: Int64?) -> [StoredColumn] {
        func keep(_ t: Int64) -> Bool { (from.map { t >= $0 } ?? true) && (to.map { t < $0 } ?? true) }
        if v == 0 { return tiers[0].ordered.filter { keep($0.unixMs) } }
        let step = tiers[v].step
        var out: [StoredColumn] = tiers[v].ordered.filter { keep($0.unixMs) }
        var sources: [StoredColumn] = []
        if tiers[v].hasPending { sources.append(tiers[v].sum.column) }
        for t in stride(from: v - 1, through: 0, by: -1) {
            sources.append(contentsOf: tiers[t].ordered)
            if t > 0, tiers[t].hasPending { sources.append(tiers[t].sum.column) }
        }
        var current: StoredColumn?       // a source that is one whole window by itself
        var sum = ColumnSum(unixMs: 0)
        var summing = false
        func finish() {
            if let c = current { out.append(c); current = nil }
            if summing { out.append(sum.take()); summing = false }
        }
        for c in sources {
            let end = Self.windowEnd(c.unixMs, step: step)
            guard keep(end) else { continue }
            let open = current?.unixMs ?? (summing ? sum.unixMs : nil)
            if let open, open != end { finish() }
            if current == nil && !summing {
                if c.unixMs == end { current = c; continue }   // already one whole window: no copy
                sum.unixMs = end
                summing = true
            } else if let whole = current {
                sum.unixMs = end
                sum.add(whole)
                current = nil
                summing = true
            }
            sum.add(c)
        }
        finish()
        return out
    }

    // MARK: saving and restoring

    var history: MatrixHistory {
        MatrixHistory(tiers: tiers.map { t in
            MatrixHistory.Tier(stepMilliseconds: t.step, columns: t.ordered.map(matrixColumn),
                               pending: t.hasPending ? matrixColumn(t.sum.column) : nil)
        })
    }

    /// The history and `events` as a ``MatrixHistoryCodec`` file, the same bytes as encoding
    /// ``history``, written straight from the stored columns: no column is materialized and
    /// routes are indexed by reference (no hashing per entry), so the file is the only large
    /// allocation (a ``MatrixHistory`` of dense traffic took 64 bytes per entry, and its encoder
    /// hashed a route per entry).
    func encoded(events: [RouteChangeEvent]) -> [UInt8] {
        // Each tier's columns oldest first, its pending column (built once) last.
        let columns = tiers.map { t in t.ordered + (t.hasPending ? [t.sum.column] : []) }
        // Route indices in order of first use, as `MatrixHistoryCodec.encode` assigns them.
        var indexOfRef = [Int32](repeating: -1, count: table.routes.count)
        var routes: [Route] = []
        var entries = 0
        for tierColumns in columns {
            var previous: StoredColumn?
            for c in tierColumns {
                entries += c.count
                defer { previous = c }
                if let p = previous, c.sharesRefs(with: p) { continue }     // the same references again
                for r in c.refs where indexOfRef[Int(r)] < 0 {
                    indexOfRef[Int(r)] = Int32(routes.count)
                    routes.append(table.routes[Int(r)])
                }
            }
        }
        var others: [Route: Int] = [:]          // event routes no column refers to
        var eventIndices: [Int] = []
        for e in events {
            for r in e.before + e.after {
                if let ref = table.find(r) {
                    if indexOfRef[Int(ref)] < 0 {
                        indexOfRef[Int(ref)] = Int32(routes.count)
                        routes.append(r)
                    }
                    eventIndices.append(Int(indexOfRef[Int(ref)]))
                } else if let i = others[r] {
                    eventIndices.append(i)
                } else {
                    others[r] = routes.count
                    eventIndices.append(routes.count)
                    routes.append(r)
                }
            }
        }
        // About 8 bytes per entry (a route index and four small counts as varints).
        var w = MatrixHistoryWriter(reservingCapacity: entries * 8 + routes.count * 48)
        w.routes(routes)
        w.tierCount(tiers.count)
        // No closure captures `w` (a captured variable is boxed, and `finish` would then copy
        // the whole file to patch its header).
        for (t, tierColumns) in zip(tiers, columns) {
            w.tier(step: t.step, columns: t.ring.count)
            for c in tierColumns.prefix(t.ring.count) { Self.write(c, indexOfRef, into: &w) }
            w.pending(t.hasPending)
            if t.hasPending, let pending = tierColumns.last { Self.write(pending, indexOfRef, into: &w) }
        }
        var next = 0
        w.events(events) { _ in
            defer { next += 1 }
            return eventIndices[next]
        }
        return w.finish()
    }

    private static func write(_ c: StoredColumn, _ indexOfRef: [Int32], into w: inout MatrixHistoryWriter) {
        indexOfRef.withUnsafeBufferPointer { indexOfRef in
            c.refs.withUnsafeBufferPointer { refs in
                w.column(unixMs: c.unixMs, unrouted: c.unrouted, count: c.count) { (Int(indexOfRef[Int(refs[$0])]), c.counts(at: $0)) }
            }
        }
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
        let c = stored(column)
        if target == 0 {
            push(c, into: 0)
        } else {
            absorb(c, into: target)
            for r in c.refs { table.release(r) }
        }
    }

    // MARK: checks

    /// Storage bytes of every column's entries, and how many entries (for the memory figure).
    package var entryStorage: (bytes: Int, entries: Int) {
        var bytes = 0, entries = 0
        for t in tiers {
            var previous: StoredColumn?
            // Oldest first: a run of columns sharing references may wrap the ring's end.
            for c in t.ordered {
                bytes += c.entryBytes - (previous.map { c.sharesRefs(with: $0) } == true ? 4 * c.count : 0)
                entries += c.count
                previous = c
            }
            if t.hasPending { entries += t.sum.refs.count; bytes += t.sum.refs.count * 36 }
        }
        return (bytes, entries)
    }

    /// Whether every route's use count is the number of column entries that refer to it (the
    /// table's invariant, for tests).
    package var tableIsConsistent: Bool {
        var uses = [UInt32](repeating: 0, count: table.useCounts.count)
        for t in tiers {
            for c in t.ring { for r in c.refs { uses[Int(r)] += 1 } }
            if t.hasPending { for r in t.sum.refs { uses[Int(r)] += 1 } }
        }
        return uses == table.useCounts && table.indexIsConsistent
    }
}
