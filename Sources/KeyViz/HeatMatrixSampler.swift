import Synchronization

/// The in-memory heat matrix: per-route counters flushed into a ring of time columns.
///
/// `observe` adds to lock-free striped counters (see `RouteCounterTable`). Every step,
/// ``flush()`` drains them in place into one column, so an observation racing a flush lands in
/// this column or the next, never in neither. Routes that leave the catalog keep being drained
/// (see `RouteSlots`), and observations for unknown route ids are counted as unrouted. Hence
/// the conservation invariant: the sum of all columns plus unrouted equals everything observed.
///
/// ``snapshot(series:fromUnixMs:toUnixMs:rows:keys:)`` renders the ring as a ``HeatMatrix``,
/// merging adjacent routes when there are more than the row budget.
public final class HeatMatrixSampler: Sampler, RouteCountsSharing {
    public let configuration: HeatMatrixSamplerConfiguration
    private let slots: RouteSlots
    private let consumer: Int
    @usableFromInline let hotPath: CounterStorage     // copied out of `slots` so observe retains nothing

    private struct Column {
        var unixMs: Int64
        var routes: [Route]
        var counts: [OpCounts]
        var unrouted: OpCounts
    }

    private struct History: ~Copyable {
        var ring: [Column] = []
        var head = 0                  // index of the oldest column once the ring is full
        var catalog: RouteCatalog?
        var routedTotal = OpCounts()
        var unroutedTotal = OpCounts()
    }

    private let history = Mutex(History())

    /// Splits, merges and other catalog changes seen by ``apply(_:)``, for the time axis.
    public let routeChanges = RouteChangeLog()

    public init(configuration: HeatMatrixSamplerConfiguration = .init()) {
        self.configuration = configuration
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
            var column = Column(unixMs: unixMs, routes: [], counts: [], unrouted: .zero)
            column.unrouted = slots.collect(consumer: consumer, nowMs: unixMs, reserve: { n in
                column.routes.reserveCapacity(n)
                column.counts.reserveCapacity(n)
            }) { slot, _, delta, owners in
                column.routes.append(owners.route(ofSlot: slot)!)
                column.counts.append(delta)
                h.routedTotal += delta
            }
            h.unroutedTotal += column.unrouted
            let capacity = configuration.effectiveHistory
            if h.ring.count < capacity {
                h.ring.append(column)
            } else {
                h.ring[h.head] = column
                h.head = (h.head + 1) % capacity
            }
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
        history.withLock { h in
            guard !h.ring.isEmpty else { return nil }
            let c = h.ring[(h.head + h.ring.count - 1) % h.ring.count]
            return MatrixColumn(unixMs: c.unixMs, routes: c.routes, counts: c.counts, unrouted: c.unrouted)
        }
    }

    /// Number of columns currently in the ring.
    public var columnCount: Int { history.withLock { $0.ring.count } }

    /// The matrix of `series` over the columns stamped in `[fromUnixMs, toUnixMs)` (nil =
    /// unbounded). Rows are the routes of the current catalog plus every route with traffic in
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
                         keys: (start: [UInt8], end: [UInt8])? = nil) -> HeatMatrix {
        let budget = min(1024, max(1, rows))
        let (columns, catalogRoutes): ([Column], [Route]) = history.withLock { h in
            var columns: [Column] = []
            let n = h.ring.count
            for k in 0..<n {
                let c = h.ring[(h.head + k) % n]
                if let f = fromUnixMs, c.unixMs < f { continue }
                if let t = toUnixMs, c.unixMs >= t { continue }
                columns.append(c)
            }
            return (columns, h.catalog?.routes ?? [])
        }
        // Distinct routes and their totals over the selected columns.
        var index: [RouteID: Int] = [:]
        index.reserveCapacity(catalogRoutes.count)
        var routes: [Route] = []
        var totals: [UInt64] = []
        func routeIndex(_ route: Route) -> Int {
            if let i = index[route.id] { return i }
            index[route.id] = routes.count
            routes.append(route)
            totals.append(0)
            return routes.count - 1
        }
        for route in catalogRoutes { _ = routeIndex(route) }
        for c in columns {
            for (route, counts) in zip(c.routes, c.counts) { totals[routeIndex(route)] &+= counts[series] }
        }
        let order = routes.indices.filter { i in
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
        // Output rows, without values yet; rowOf maps a route index to its row (-1: filtered out).
        var rowOf = [Int32](repeating: -1, count: routes.count)
        var table: [HeatMatrixRow] = []
        table.reserveCapacity(starts.count)
        for (g, first) in starts.enumerated() {
            let last = g + 1 < starts.count ? starts[g + 1] : order.count
            var row = Self.row(routes[order[first]], columns: 0)
            rowOf[order[first]] = Int32(g)
            for k in (first + 1)..<last {
                AdjacentRowMerger.absorb(&row, Self.row(routes[order[k]], columns: 0))
                rowOf[order[k]] = Int32(g)
            }
            if row.aggregate, let id = row.routeIDs.first { row.rowID = "aggregate:\(id)+\(row.routeCount)" }
            row.values = Array(repeating: 0, count: columns.count)
            table.append(row)
        }
        for (j, c) in columns.enumerated() {
            for (route, counts) in zip(c.routes, c.counts) {
                let row = Int(rowOf[index[route.id]!])
                if row >= 0 { table[row].values[j] &+= counts[series] }
            }
        }
        return HeatMatrix(series: series, columnUnixMs: columns.map(\.unixMs), rows: table,
                          unrouted: columns.map { $0.unrouted[series] })
    }

    private static func row(_ route: Route, columns: Int) -> HeatMatrixRow {
        HeatMatrixRow(rowID: "route:\(route.id)", start: route.start, end: route.end, aggregate: false,
                      routeIDs: [route.id], routeIDsTruncated: false, routeCount: 1,
                      values: Array(repeating: 0, count: columns))
    }
}
