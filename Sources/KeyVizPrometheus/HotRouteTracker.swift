import KeyViz

/// The busiest routes over a sliding window, computed in-process from folded per-route deltas.
///
/// Per counter slot it keeps the counts of the current fixed window and of the previous one, and
/// estimates the count over the last `window` as `current + previous × (1 − elapsed fraction)`
/// (the sliding-window estimate of rate limiters). Adding a delta is O(1) with no hashing.
/// The slots with counts in either window are listed as they first get one, so ranking and
/// rolling to the next window visit those candidates only, never the idle slots: the cost of
/// a render follows the traffic, not the catalog. 20 bytes per slot plus 4 per active one. Traffic
/// older than two windows counts for nothing. Rates divide by the time the window covers (less
/// than the window right after start).
struct HotRouteTracker {
    let windowMs: Int64
    private let startMs: Int64
    private var window: Int64 = .min          // number of the current fixed window

    /// One slot's window counts, 32-bit to keep 20 bytes per slot (a route would need 71 million
    /// operations a second for a whole window to saturate one; they saturate, never wrap), next
    /// to the id of the route they belong to (ids < 2^32), so a ranking reads one line per slot.
    struct Cell {
        var route: UInt32 = .max
        var currentReads: UInt32 = 0
        var currentWrites: UInt32 = 0
        var previousReads: UInt32 = 0
        var previousWrites: UInt32 = 0

        var isIdle: Bool { currentReads | currentWrites | previousReads | previousWrites == 0 }
    }
    private var cells: [Cell] = []
    private var totalCurrent: (reads: UInt64, writes: UInt64) = (0, 0)
    private var totalPrevious: (reads: UInt64, writes: UInt64) = (0, 0)
    /// Slots with a non-zero count in the current or the previous window, each once.
    private var active: [UInt32] = []

    init(windowMs: Int64, nowMs: Int64) {
        self.windowMs = max(1, windowMs)
        startMs = nowMs
    }

    /// Call ``roll(to:)`` first (once per fold, not per delta).
    mutating func add(slot: Int, route id: RouteID, reads: UInt64, writes: UInt64) {
        if slot >= cells.count { reserve(slots: max(slot + 1, cells.count * 2)) }
        var cell = cells[slot]
        let wasActive = !cell.isIdle
        if UInt64(cell.route) != id.rawValue {     // the slot was recycled: the old route's counts leave
            totalCurrent.reads &-= UInt64(cell.currentReads); totalCurrent.writes &-= UInt64(cell.currentWrites)
            totalPrevious.reads &-= UInt64(cell.previousReads); totalPrevious.writes &-= UInt64(cell.previousWrites)
            cell = Cell(route: UInt32(truncatingIfNeeded: id.rawValue))
        }
        cell.currentReads = Self.saturating(cell.currentReads, reads)
        cell.currentWrites = Self.saturating(cell.currentWrites, writes)
        totalCurrent.reads &+= reads
        totalCurrent.writes &+= writes
        if !wasActive && !cell.isIdle { active.append(UInt32(slot)) }
        cells[slot] = cell
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
        for slot in active {
            let i = Int(slot)
            cells[i].previousReads = next ? cells[i].currentReads : 0
            cells[i].previousWrites = next ? cells[i].currentWrites : 0
            cells[i].currentReads = 0
            cells[i].currentWrites = 0
        }
        active.removeAll { cells[Int($0)].isIdle }
        totalPrevious = next ? totalCurrent : (0, 0)
        totalCurrent = (0, 0)
        window = n
    }

    /// Slots the ranking looks at (for tests of render cost).
    var candidateCount: Int { active.count }

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

    /// The `k` slots with the most operations of each op over the last window, busiest first
    /// (ties: lower slot), with their estimated counts: one pass over the active slots, and a
    /// slot whose count bound (current + previous) cannot beat the k-th best is skipped with
    /// an integer comparison.
    func top(_ k: Int, nowMs: Int64) -> (reads: [Ranked], writes: [Ranked]) {
        guard k > 0 else { return ([], []) }
        let w = weightOfPrevious(nowMs: nowMs)
        var best: (reads: [Ranked], writes: [Ranked]) = ([], [])
        cells.withUnsafeBufferPointer { cells in
            for slot in active {
                let i = Int(slot)
                let c = cells[i]
                Self.consider(i, c.currentReads, c.previousReads, w, k, c.route, into: &best.reads)
                Self.consider(i, c.currentWrites, c.previousWrites, w, k, c.route, into: &best.writes)
            }
        }
        return best
    }

    typealias Ranked = (slot: Int, route: RouteID, count: Double)

    @inline(__always)
    private static func consider(_ i: Int, _ c: UInt32, _ p: UInt32, _ w: Double, _ k: Int, _ route: UInt32, into best: inout [Ranked]) {
        let bound = UInt64(c) + UInt64(p)
        guard bound != 0 else { return }
        if best.count == k, let last = best.last, Double(bound) < last.count { return }
        let est = Double(c) + Double(p) * w
        guard est > 0 else { return }
        // Ranked by count, ties by slot (the active list is in first-touch order).
        func precedes(_ e: Ranked) -> Bool { est > e.count || (est == e.count && i < e.slot) }
        if best.count == k, let last = best.last, !precedes(last) { return }
        let pos = best.firstIndex(where: precedes) ?? best.count
        best.insert((i, RouteID(route), est), at: pos)
        if best.count > k { best.removeLast() }
    }
}
