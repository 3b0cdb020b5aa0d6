import Synchronization

/// The in-memory heat matrix: per-route counters flushed into a ring of time columns.
///
/// `observe` adds to lock-free striped counters (see `RouteCounterTable`). Every step,
/// ``flush()`` drains them in place into one column, so an observation racing a flush lands in
/// this column or the next, never in neither. Routes that leave the catalog keep being drained
/// (see `RouteSlots`), and observations for unknown route ids are counted as unrouted. Hence
/// the conservation invariant: the sum of all columns plus unrouted equals everything observed.
///
/// ``snapshot(series:fromUnixMs:toUnixMs:rows:keys:resolutionMs:)`` renders the ring as a ``HeatMatrix``,
/// merging adjacent routes when there are more than the row budget.
public final class HeatMatrixSampler: Sampler, RouteCountsSharing {
    public let configuration: HeatMatrixSamplerConfiguration
    private let slots: RouteSlots
    private let consumer: Int
    @usableFromInline let hotPath: CounterStorage     // copied out of `slots` so observe retains nothing

    private struct History: ~Copyable {
        var tiers: TieredHistory      // the finest ring and the coarser tiers (TieredHistory.swift)
        var catalog: RouteCatalog?
        /// Per counter slot, the table reference its route had at the last flush (a hint).
        var slotRefs: [UInt32] = []
        var routedTotal = OpCounts()
        var unroutedTotal = OpCounts()
    }

    private let history: Mutex<History>

    /// Splits, merges and other catalog changes seen by ``apply(_:)``, for the time axis; holds
    /// ``HeatMatrixSamplerConfiguration/routeChangeEvents`` events.
    public let routeChanges: RouteChangeLog

    public init(configuration: HeatMatrixSamplerConfiguration = .init()) {
        self.configuration = configuration
        history = Mutex(History(tiers: TieredHistory(configuration.effectiveTiers)))
        routeChanges = RouteChangeLog(capacity: configuration.routeChangeEvents)
        slots = RouteSlots(stripes: configuration.stripes, graceMs: configuration.effectiveGrace)
        hotPath = slots.counters.storage
        consumer = slots.addConsumer()
    }

    /// The table this sampler counts in: a decorator wrapping it reads the same counters.
    package var sharedRouteSlots: RouteSlots? { slots }

    // MARK: Sampler

    /// Inlinable, so a host in another module gets the table's add inlined into its call.
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int) {
        hotPath.record(route: route, op: op, bytes: Self.observedBytes(keyLength: keyLength, valueLength: valueLength))
    }

    /// From a decorator that read the thread's stripe: counted with it.
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int, thread: CallingThread) {
        hotPath.record(route: route, op: op, bytes: Self.observedBytes(keyLength: key.count, valueLength: valueLength),
                       stripe: thread.stripe)
    }

    // MARK: RouteCatalogObserver

    public func apply(_ catalog: RouteCatalog) {
        let nowMs = configuration.now()
        slots.apply(catalog, nowMs: nowMs)
        // The first catalog is the starting state, not a change.
        let previous = history.withLock { h in
            defer { h.catalog = catalog }
            return h.catalog
        }
        if let previous { routeChanges.record(from: previous, to: catalog, atUnixMs: nowMs) }
    }

    // MARK: flushing

    /// Moves the counters into a new column stamped now. Safe to call from any thread.
    public func flush() {
        flush(atUnixMs: configuration.now())
    }

    /// Moves the counters into a new column stamped `unixMs`.
    public func flush(atUnixMs unixMs: Int64) {
        history.withLock { h in
            var routed = OpCounts()
            // Built in place, in its stored widths: no full-width copy to free afterwards.
            var column = StoredColumn(unixMs: unixMs, reservingCapacity: 0)
            var expected = 0
            let unrouted = slots.collect(consumer: consumer, nowMs: unixMs, reserve: { n in
                column = StoredColumn(unixMs: unixMs, reservingCapacity: n)
                expected = n
            }) { slot, _, delta, owners in
                if expected > 0 {
                    // Sized once for this flush (see RouteTable.reserve).
                    h.tiers.reserveRoutes(additional: expected)
                    let slotCount = self.slots.counters.allocatedSlots
                    if h.slotRefs.count < slotCount {
                        h.slotRefs.append(contentsOf: repeatElement(.max, count: max(slotCount, 2 * h.slotRefs.count) - h.slotRefs.count))
                    }
                    expected = 0
                }
                if slot >= h.slotRefs.count {
                    h.slotRefs.append(contentsOf: repeatElement(.max, count: max(slot + 1, 2 * h.slotRefs.count) - h.slotRefs.count))
                }
                let hint = h.slotRefs[slot]
                let ref = h.tiers.retain(owners.route(ofSlot: slot)!, hint: hint)
                h.slotRefs[slot] = ref
                column.append(ref: ref, counts: delta)
                routed += delta
            }
            column.unrouted = unrouted
            h.tiers.append(column)
            h.routedTotal += routed
            h.unroutedTotal += unrouted
        }
    }

    /// Flushes every step until the task is cancelled, then flushes once more so nothing
    /// observed before cancellation is left out.
    public func runFlusher() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(configuration.effectiveStep))
            } catch {
                break
            }
            flush()
        }
        flush()
    }

    // MARK: reading

    /// Everything flushed so far (including columns that have left the ring), routed and
    /// unrouted. Counts not yet flushed are not included.
    public var flushedTotals: (routed: OpCounts, unrouted: OpCounts) {
        history.withLock { ($0.routedTotal, $0.unroutedTotal) }
    }

    /// The newest flushed column: every route with traffic in it and its four counters, read
    /// in one step (so reads and writes of a route always come from the same column). Nil
    /// before the first flush.
    public func newestColumn() -> MatrixColumn? {
        history.withLock { $0.tiers.newest }
    }

    /// Number of columns currently in the finest ring.
    public var columnCount: Int { history.withLock { $0.tiers.tiers[0].ring.count } }

    /// Everything that left the coarsest tier, routed and unrouted (with ``flushedTotals``, what
    /// the conservation test checks: every count flushed is in one column of one tier, or here).
    package var droppedTotals: (routed: OpCounts, unrouted: OpCounts) { history.withLock { $0.tiers.dropped } }

    /// The history's route table: whether each route's use count is the number of column
    /// entries referring to it, and how many routes it holds (for the invariant tests).
    package var historyRouteTable: (consistent: Bool, routes: Int, entries: Int, entryBytes: Int) {
        history.withLock { h in
            let storage = h.tiers.entryStorage
            return (h.tiers.tableIsConsistent, h.tiers.table.count, storage.entries, storage.bytes)
        }
    }

    // MARK: saving and restoring

    /// Every tier's columns as values, to be saved (``MatrixHistoryCodec``). The lock is held
    /// only to copy the rings' references.
    public func savedHistory() -> MatrixHistory {
        let tiers = history.withLock { $0.tiers }
        var saved = tiers.history
        saved.events = routeChanges.events()
        return saved
    }

    /// ``savedHistory()`` as a ``MatrixHistoryCodec`` file (the same bytes as
    /// `MatrixHistoryCodec.encode(savedHistory())`), written from the stored columns without
    /// materializing them: the file is the only large allocation, about 8 bytes per entry of
    /// dense traffic. The lock is held only to copy the rings' references.
    public func encodedHistory() -> [UInt8] {
        let tiers = history.withLock { $0.tiers }
        return tiers.encoded(events: routeChanges.events())
    }

    /// Puts a saved history back, re-cut to this sampler's tiers when they differ from the saved
    /// ones (see `TieredHistory.restore`). Only into an empty history (before the first flush):
    /// returns false and changes nothing otherwise. Counts restored are not added to
    /// ``flushedTotals``, which count this process's flushes.
    @discardableResult
    public func restore(_ saved: MatrixHistory) -> Bool {
        let restored = history.withLock { h in
            guard h.tiers.isEmpty else { return false }
            h.tiers.restore(saved)
            return true
        }
        if restored { routeChanges.restore(saved.events) }
        return restored
    }

    /// Puts a saved history back straight from its bytes (``MatrixHistoryCodec``), one column at
    /// a time: the bytes are checked whole first, then each column is read and fed into the
    /// tiers, so memory is the bytes, the route table and this sampler's own history (bounded
    /// by its tiers), never a decoded copy of the whole file. Only into an empty history: nil
    /// and nothing changed otherwise; the columns read and the newest stamp when restored.
    public func restore(encoded bytes: [UInt8]) throws(MatrixHistoryCodecError) -> (columns: Int, newestUnixMs: Int64?)? {
        let layout = try MatrixHistoryCodec.layout(bytes)
        let restored = try history.withLock { h throws(MatrixHistoryCodecError) -> (columns: Int, newestUnixMs: Int64?)? in
            guard h.tiers.isEmpty else { return nil }
            try MatrixHistoryCodec.forEachColumnOldestFirst(bytes, layout) { step, column in h.tiers.restore(column, savedStep: step) }
            return (layout.columnCount, layout.newestUnixMs)
        }
        if restored != nil { routeChanges.restore(layout.events) }
        return restored
    }

    /// The matrix of `series` over the columns stamped in `[fromUnixMs, toUnixMs)` (nil =
    /// unbounded), from one tier: the finest whose step is at least `resolutionMs` (nil: the
    /// finest), or a coarser one while that tier no longer holds `fromUnixMs`; coarser than the
    /// finest ring, the columns of finer tiers are summed into the tier's windows, so the answer
    /// has one step throughout (``HeatMatrix/stepMilliseconds``) and reaches the newest flush. Rows are the routes of the current catalog plus every route with traffic in
    /// those columns, in key order (start key, then id); with more than `rows` routes
    /// (clamped 1…1024), adjacent routes are merged by `AdjacentRowMerger`'s rule.
    /// `keys` keeps only the routes that overlap `[start, end)` (empty end = +infinity) before
    /// merging, so a zoomed view gets the whole row budget for its key range.
    ///
    /// Cost: the history lock is held only to take the selected columns (references, no copy),
    /// so flushes never wait for a snapshot. Then one pass over the columns' entries sums each
    /// route's total, the merge is decided on those totals alone, and only the output rows get
    /// values: memory O(routes + rows × columns), time O(routes log routes + entries +
    /// rows × columns), whatever the catalog size.
    public func snapshot(series: Series, fromUnixMs: Int64? = nil, toUnixMs: Int64? = nil, rows: Int = 1024,
                         keys: (start: [UInt8], end: [UInt8])? = nil, resolutionMs: Int64? = nil) -> HeatMatrix {
        let budget = min(1024, max(1, rows))
        let (tiers, catalogRoutes, slotRefs) = history.withLock { h in (h.tiers, h.catalog?.routes ?? [], h.slotRefs) }
        let view = tiers.view(resolution: resolutionMs, from: fromUnixMs)
        let columns = tiers.columns(view: view, from: fromUnixMs, to: toUnixMs)
        // Routes: the history's table (by reference), then catalog routes no column refers to.
        // A route is its id and key range: ids are per process, so a restored history may use
        // an id for another range; the table keeps those apart.
        var routes = tiers.table.routes
        let stored = routes.count
        var totals = [UInt64](repeating: 0, count: stored)
        var listed = [Bool](repeating: false, count: stored)
        // Runs of adjacent columns sharing one reference array (dense traffic): their values
        // are summed position by position, and each reference is read once per run.
        var runs: [Range<Int>] = []
        var runStart = 0
        while runStart < columns.count {
            var end = runStart + 1
            while end < columns.count && columns[end].sharesRefs(with: columns[runStart]) { end += 1 }
            runs.append(runStart..<end)
            runStart = end
        }
        var sums: [UInt64] = []
        totals.withUnsafeMutableBufferPointer { totals in
            listed.withUnsafeMutableBufferPointer { listed in
                for run in runs {
                    columns[run.lowerBound].refs.withUnsafeBufferPointer { refs in
                        for r in refs { listed[Int(r)] = true }
                        guard run.count > 1 else {
                            columns[run.lowerBound][series].add(into: totals, at: refs)
                            return
                        }
                        sums.removeAll(keepingCapacity: true)
                        sums.append(contentsOf: repeatElement(0, count: refs.count))
                        sums.withUnsafeMutableBufferPointer { sums in
                            for c in run { columns[c][series].addPositionwise(into: sums) }
                            for i in 0..<refs.count { totals[Int(refs[i])] &+= sums[i] }
                        }
                    }
                }
            }
        }
        for route in catalogRoutes {
            let slot = slots.counters.slot(of: route.id)
            let hint = slot < slotRefs.count ? slotRefs[slot] : .max
            if tiers.table.holds(route, at: hint) {
                listed[Int(hint)] = true
            } else if let r = tiers.table.find(route) {
                listed[Int(r)] = true
            } else {
                routes.append(route)
                totals.append(0)
                listed.append(true)
            }
        }
        let order = routes.indices.filter { i in
            guard listed[i] else { return false }
            guard let keys else { return true }
            let r = routes[i]
            return (r.end.isEmpty || keys.start.lexicographicallyPrecedes(r.end))
                && (keys.end.isEmpty || r.start.lexicographicallyPrecedes(keys.end))
        }.sorted { a, b in
            let ra = routes[a], rb = routes[b]
            if ra.start != rb.start { return ra.start.lexicographicallyPrecedes(rb.start) }
            return ra.id < rb.id
        }
        let starts = AdjacentRowMerger.groups(totals: order.map { totals[$0] }, budget: budget)
        // Output rows, without values yet; rowOf maps a route reference to its row (-1: not shown).
        var rowOf = [Int32](repeating: -1, count: routes.count)
        var table: [HeatMatrixRow] = []
        table.reserveCapacity(starts.count)
        for (g, first) in starts.enumerated() {
            let last = g + 1 < starts.count ? starts[g + 1] : order.count
            for k in first..<last { rowOf[order[k]] = Int32(g) }
            table.append(last - first == 1 ? Self.row(routes[order[first]], columns: 0)
                                           : Self.aggregateRow(order[first..<last].lazy.map { routes[$0] }))
        }
        // Cells column by column (a column's rows are adjacent), then handed out row by row.
        let rowCount = table.count
        var cells = [UInt64](repeating: 0, count: rowCount * columns.count)
        var rowOfEntry: [Int32] = []
        cells.withUnsafeMutableBufferPointer { cells in
            rowOf.withUnsafeBufferPointer { rowOf in
                for run in runs {
                    columns[run.lowerBound].refs.withUnsafeBufferPointer { refs in
                        if run.count > 1 {
                            rowOfEntry.removeAll(keepingCapacity: true)
                            rowOfEntry.append(contentsOf: refs.lazy.map { rowOf[Int($0)] })
                        }
                        for j in run {
                            let column = UnsafeMutableBufferPointer(rebasing: cells[(j * rowCount)..<((j + 1) * rowCount)])
                            if run.count > 1 {
                                rowOfEntry.withUnsafeBufferPointer { rows in columns[j][series].add(into: column, rows: rows) }
                            } else {
                                columns[j][series].add(into: column, slots: rowOf, at: refs)
                            }
                        }
                    }
                }
            }
        }
        for g in 0..<rowCount {
            table[g].values = (0..<columns.count).map { j in cells[j * rowCount + g] }
        }
        return HeatMatrix(series: series, columnUnixMs: columns.map(\.unixMs), rows: table,
                          unrouted: columns.map { $0.unrouted[series] }, stepMilliseconds: tiers.tiers[view].step)
    }

    /// The row of several key-adjacent routes: what absorbing each into the first gives
    /// (``AdjacentRowMerger/absorb(_:_:)``), built once instead of route by route, so a
    /// group of thousands costs no per-route row, id string or array append.
    private static func aggregateRow<C: Collection>(_ members: C) -> HeatMatrixRow where C.Element == Route {
        let first = members.first!
        var end = first.end
        var ids: [RouteID] = []
        ids.reserveCapacity(min(members.count, HeatMatrixRow.maxListedRoutes))
        for route in members {
            if ids.count < HeatMatrixRow.maxListedRoutes { ids.append(route.id) }
            if end.isEmpty || route.end.isEmpty {
                end = []
            } else if end.lexicographicallyPrecedes(route.end) {
                end = route.end
            }
        }
        return HeatMatrixRow(rowID: "aggregate:\(first.id)+\(members.count)", start: first.start, end: end, aggregate: true,
                             routeIDs: ids, routeIDsTruncated: members.count > ids.count, routeCount: members.count,
                             values: [])
    }

    private static func row(_ route: Route, columns: Int) -> HeatMatrixRow {
        HeatMatrixRow(rowID: "route:\(route.id)", start: route.start, end: route.end, aggregate: false,
                      routeIDs: [route.id], routeIDsTruncated: false, routeCount: 1,
                      values: Array(repeating: 0, count: columns))
    }
}
