import KeyViz

/// The busiest routes over a sliding window, computed in-process from folded per-route deltas.
///
/// Per counter slot it keeps the counts of the current fixed window and of the previous one, and
/// estimates the count over the last `window` as `current + previous × (1 − elapsed fraction)`
/// (the sliding-window estimate of rate limiters). Traffic older than two windows counts for
/// nothing. Rates divide by the time the window covers (less than the window right after start).
///
/// *Cost follows the traffic.* Ranking never scans the slots. For each op the tracker keeps,
/// while folding, the `ranks` largest current counts; the smallest of them, T (0 until there
/// are `ranks`), is a lower bound of the `ranks`-th best estimate, since each of those routes
/// has an estimate of at least its current count. A route whose estimate reaches T therefore
/// has current + previous ≥ T, so its current or its previous count is at least T / 2. The
/// candidates are exactly those: routes whose current count crossed the running T / 2 while
/// folding (listed as they cross; T only grows within a window) and routes whose previous count
/// is at least T / 2 (listed at the window's roll by powers of two). The ranking among
/// candidates is exact, so the result equals a full scan (`HotRouteTrackerTests`), and its cost
/// is the number of candidates: with skewed traffic a handful, with uniform traffic all active
/// routes. 24 bytes per slot, plus 4 per active route and per candidate.
struct HotRouteTracker {
    let windowMs: Int64
    /// Routes ranked per op.
    let ranks: Int
    private let startMs: Int64
    private var window: Int64 = .min          // number of the current fixed window

    /// One slot's window counts, 32-bit (a route would need 71 million operations a second for
    /// a whole window to saturate one; they saturate, never wrap), next to the id of the route
    /// they belong to (ids < 2^32), so a ranking reads one line per slot.
    struct Cell {
        var route: UInt32 = .max
        var current: (UInt32, UInt32) = (0, 0)     // per op index: reads, writes
        var previous: (UInt32, UInt32) = (0, 0)
        /// Bit o: listed in `risen[o]`.
        var listed: UInt8 = 0

        var isIdle: Bool { current.0 | current.1 | previous.0 | previous.1 == 0 }
        func current(_ o: Int) -> UInt32 { o == 0 ? current.0 : current.1 }
        func previous(_ o: Int) -> UInt32 { o == 0 ? previous.0 : previous.1 }
    }
    private var cells: [Cell] = []
    private var totalCurrent: (reads: UInt64, writes: UInt64) = (0, 0)
    private var totalPrevious: (reads: UInt64, writes: UInt64) = (0, 0)
    /// Slots with a non-zero count in the current or the previous window, each once.
    private var active: [UInt32] = []
    /// Per op: the `ranks` largest current counts (slot, count), unordered.
    private var leaders: [[(slot: UInt32, count: UInt32)]] = [[], []]
    /// Per op: slots whose current count reached the running T / 2 (a superset of those at
    /// or above it now; compacted after each fold).
    private var risen: [[UInt32]] = [[], []]
    /// Per op: slots with a previous count, by its bit length (bucket j: 2^(j-1) ≤ p < 2^j).
    private var byPrevious: [[[UInt32]]] = [[], []]
    /// Per op: T, kept with `leaders` (see ``threshold(_:)``).
    private var floor: (UInt64, UInt64) = (0, 0)
    /// Per op: T at the last compaction of `risen`.
    private var compactedAt: (UInt64, UInt64) = (0, 0)
    /// Per op: a leader left mid-window (its slot was recycled), so T may have dropped below
    /// what `risen` was built against: rank by scanning the active slots until the next roll.
    private var scanAll: (Bool, Bool) = (false, false)

    init(windowMs: Int64, nowMs: Int64, ranks: Int) {
        self.windowMs = max(1, windowMs)
        self.ranks = max(0, ranks)
        startMs = nowMs
    }

    /// The lower bound T of op `o`'s `ranks`-th best estimate (0 until `ranks` routes have
    /// current counts).
    private func threshold(_ o: Int) -> UInt64 { o == 0 ? floor.0 : floor.1 }

    private mutating func updateFloor(_ o: Int) {
        let t = leaders[o].count == ranks ? UInt64(leaders[o].lazy.map(\.count).min() ?? 0) : 0
        if o == 0 { floor.0 = t } else { floor.1 = t }
    }

    /// Call ``roll(to:)`` first (once per fold, not per delta).
    mutating func add(slot: Int, route id: RouteID, reads: UInt64, writes: UInt64) {
        if slot >= cells.count { reserve(slots: max(slot + 1, cells.count * 2)) }
        var cell = cells[slot]
        let wasActive = !cell.isIdle
        if UInt64(cell.route) != id.rawValue {     // the slot was recycled: the old route's counts leave
            totalCurrent.reads &-= UInt64(cell.current.0); totalCurrent.writes &-= UInt64(cell.current.1)
            totalPrevious.reads &-= UInt64(cell.previous.0); totalPrevious.writes &-= UInt64(cell.previous.1)
            cell = Cell(route: UInt32(truncatingIfNeeded: id.rawValue), listed: cell.listed)
            for o in 0..<2 where leaders[o].contains(where: { $0.slot == UInt32(slot) }) {
                leaders[o].removeAll { $0.slot == UInt32(slot) }
                updateFloor(o)
                if o == 0 { scanAll.0 = true } else { scanAll.1 = true }
            }
        }
        cell.current.0 = Self.saturating(cell.current.0, reads)
        cell.current.1 = Self.saturating(cell.current.1, writes)
        totalCurrent.reads &+= reads
        totalCurrent.writes &+= writes
        if !wasActive && !cell.isIdle { active.append(UInt32(slot)) }
        if ranks > 0 {
            for o in 0..<2 where (o == 0 ? reads : writes) != 0 {
                let c = cell.current(o)
                lead(o, slot: UInt32(slot), count: c)
                if cell.listed & (1 << o) == 0, 2 * UInt64(c) >= threshold(o) {
                    risen[o].append(UInt32(slot))
                    cell.listed |= 1 << o
                }
            }
        }
        cells[slot] = cell
    }

    /// Keeps `leaders[o]` the `ranks` largest current counts.
    private mutating func lead(_ o: Int, slot: UInt32, count: UInt32) {
        if leaders[o].count == ranks && UInt64(count) <= threshold(o) { return }     // the common case: one comparison
        if let i = leaders[o].firstIndex(where: { $0.slot == slot }) {
            leaders[o][i].count = count
        } else if leaders[o].count < ranks {
            leaders[o].append((slot, count))
        } else if let m = leaders[o].indices.min(by: { leaders[o][$0].count < leaders[o][$1].count }) {
            leaders[o][m] = (slot, count)
        }
        updateFloor(o)
    }

    /// Drops listed slots whose current count is below T / 2 now (after a fold). Only when T
    /// has grown since the last compaction: slots listed since were at or above it.
    mutating func compact() {
        for o in 0..<2 {
            let t = threshold(o)
            guard t > (o == 0 ? compactedAt.0 : compactedAt.1) else { continue }
            if o == 0 { compactedAt.0 = t } else { compactedAt.1 = t }
            risen[o].removeAll { slot in
                let i = Int(slot)
                if 2 * UInt64(cells[i].current(o)) >= t { return false }
                cells[i].listed &= ~(1 << o)
                return true
            }
        }
    }

    private static func saturating(_ a: UInt32, _ b: UInt64) -> UInt32 {
        UInt32(min(UInt64(UInt32.max), UInt64(a) + min(b, UInt64(UInt32.max))))
    }

    /// Sizes the per-slot array for `slots` slots in one allocation (growing by doubling
    /// instead would leave the freed smaller copies in the process's heap).
    mutating func reserve(slots n: Int) {
        guard n > cells.count else { return }
        cells.reserveCapacity(n)
        cells += repeatElement(Cell(), count: n - cells.count)
    }

    /// Moves to the fixed window holding `nowMs`. Touches the active slots only.
    mutating func roll(to nowMs: Int64) {
        let n = nowMs / windowMs
        guard n != window else { return }
        let next = n == window + 1
        for o in 0..<2 {
            for slot in risen[o] { cells[Int(slot)].listed = 0 }
            risen[o].removeAll(keepingCapacity: true)
            leaders[o].removeAll(keepingCapacity: true)
            byPrevious[o] = Array(repeating: [], count: 33)
        }
        floor = (0, 0)
        compactedAt = (0, 0)
        scanAll = (false, false)
        for slot in active {
            let i = Int(slot)
            cells[i].previous = next ? cells[i].current : (0, 0)
            cells[i].current = (0, 0)
            if ranks > 0 {
                for o in 0..<2 {
                    let p = cells[i].previous(o)
                    if p != 0 { byPrevious[o][32 - p.leadingZeroBitCount].append(slot) }
                }
            }
        }
        active.removeAll { cells[Int($0)].isIdle }
        totalPrevious = next ? totalCurrent : (0, 0)
        totalCurrent = (0, 0)
        window = n
    }

    /// Slots a ranking of op `o` would look at in the candidate lists.
    private func candidates(_ o: Int) -> Int {
        let t = threshold(o)
        return risen[o].count + byPrevious[o].indices.reduce(0) { $0 + (Self.bucketMayReach($1, t) ? byPrevious[o][$1].count : 0) }
    }

    /// Slots a ranking looks at, both ops (for tests of render cost).
    var candidateCount: Int {
        (0..<2).reduce(0) { n, o in
            n + ((o == 0 ? scanAll.0 : scanAll.1) ? active.count : min(active.count, candidates(o)))
        }
    }

    /// Whether bucket `j` of `byPrevious` (counts below 2^j) can hold a previous count ≥ T / 2.
    private static func bucketMayReach(_ j: Int, _ t: UInt64) -> Bool {
        j > 0 && 2 * ((UInt64(1) << UInt64(j)) - 1) >= t
    }

    /// Seconds the window covers now.
    func coveredSeconds(nowMs: Int64) -> Double {
        Double(max(1, min(windowMs, nowMs - startMs))) / 1000
    }

    private func weightOfPrevious(nowMs: Int64) -> Double {
        1 - Double(nowMs - window * windowMs) / Double(windowMs)
    }

    /// Estimated operations of `op` over the last window, all routes.
    func total(_ op: Op, nowMs: Int64) -> Double {
        let (c, p) = op == .read ? (totalCurrent.reads, totalPrevious.reads) : (totalCurrent.writes, totalPrevious.writes)
        return Double(c) + Double(p) * weightOfPrevious(nowMs: nowMs)
    }

    /// The ``ranks`` slots with the most operations of each op over the last window, busiest
    /// first (ties: lower slot), with their estimated counts; only candidates are looked at (see
    /// the type's comment).
    func top(nowMs: Int64) -> (reads: [Ranked], writes: [Ranked]) {
        guard ranks > 0 else { return ([], []) }
        let w = weightOfPrevious(nowMs: nowMs)
        var best: [[Ranked]] = [[], []]
        // Uniform traffic makes every active route a candidate: then one pass over the active
        // list is cheaper than the candidate lists (same result).
        let scan = (0..<2).map { o in (o == 0 ? scanAll.0 : scanAll.1) || candidates(o) >= active.count }
        cells.withUnsafeBufferPointer { cells in
            if scan[0] && scan[1] {
                for slot in active {
                    let i = Int(slot)
                    let c = cells[i]
                    Self.consider(i, c.current.0, c.previous.0, w, ranks, c.route, into: &best[0])
                    Self.consider(i, c.current.1, c.previous.1, w, ranks, c.route, into: &best[1])
                }
                return
            }
            for o in 0..<2 {
                let t = threshold(o)
                func look(_ slot: UInt32) {
                    let c = cells[Int(slot)]
                    Self.consider(Int(slot), c.current(o), c.previous(o), w, ranks, c.route, into: &best[o])
                }
                if scan[o] {
                    for slot in active { look(slot) }
                    continue
                }
                for slot in risen[o] { look(slot) }
                for j in byPrevious[o].indices where Self.bucketMayReach(j, t) {
                    for slot in byPrevious[o][j] { look(slot) }
                }
            }
        }
        return (best[0], best[1])
    }

    typealias Ranked = (slot: Int, route: RouteID, count: Double)

    @inline(__always)
    private static func consider(_ i: Int, _ c: UInt32, _ p: UInt32, _ w: Double, _ k: Int, _ route: UInt32, into best: inout [Ranked]) {
        let bound = UInt64(c) + UInt64(p)
        guard bound != 0 else { return }
        if best.count == k, let last = best.last, Double(bound) < last.count { return }
        let est = Double(c) + Double(p) * w
        guard est > 0 else { return }
        // Ranked by count, ties by slot (candidates come in no particular order).
        func precedes(_ e: Ranked) -> Bool { est > e.count || (est == e.count && i < e.slot) }
        if best.count == k, let last = best.last, !precedes(last) { return }
        if best.contains(where: { $0.slot == i }) { return }      // a candidate twice (both lists)
        let pos = best.firstIndex(where: precedes) ?? best.count
        best.insert((i, RouteID(route), est), at: pos)
        if best.count > k { best.removeLast() }
    }
}
