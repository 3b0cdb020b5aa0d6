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
    private var route: [UInt32] = []           // the route id each slot's counts belong to (ids < 2^32)
    /// Per-slot window counts, 32-bit to keep 16 bytes per slot: a route would need 71 million
    /// operations a second for a whole window to saturate one (they saturate, never wrap).
    private var current: [(reads: UInt32, writes: UInt32)] = []
    private var previous: [(reads: UInt32, writes: UInt32)] = []
    private var totalCurrent: (reads: UInt64, writes: UInt64) = (0, 0)
    private var totalPrevious: (reads: UInt64, writes: UInt64) = (0, 0)
    /// Slots with a non-zero count in the current or the previous window, each once.
    private var active: [UInt32] = []

    init(windowMs: Int64, nowMs: Int64) {
        self.windowMs = max(1, windowMs)
        startMs = nowMs
    }

    mutating func add(slot: Int, route id: RouteID, reads: UInt64, writes: UInt64, nowMs: Int64) {
        roll(to: nowMs)
        if slot >= route.count { reserve(slots: max(slot + 1, route.count * 2)) }
        let wasActive = current[slot] != (0, 0) || previous[slot] != (0, 0)
        if UInt64(route[slot]) != id.rawValue {     // the slot was recycled: the old route's counts leave
            route[slot] = UInt32(truncatingIfNeeded: id.rawValue)
            totalCurrent.reads &-= UInt64(current[slot].reads); totalCurrent.writes &-= UInt64(current[slot].writes)
            totalPrevious.reads &-= UInt64(previous[slot].reads); totalPrevious.writes &-= UInt64(previous[slot].writes)
            current[slot] = (0, 0)
            previous[slot] = (0, 0)
        }
        current[slot].reads = Self.saturating(current[slot].reads, reads)
        current[slot].writes = Self.saturating(current[slot].writes, writes)
        totalCurrent.reads &+= reads
        totalCurrent.writes &+= writes
        if !wasActive && current[slot] != (0, 0) { active.append(UInt32(slot)) }
    }

    private static func saturating(_ a: UInt32, _ b: UInt64) -> UInt32 {
        UInt32(min(UInt64(UInt32.max), UInt64(a) + min(b, UInt64(UInt32.max))))
    }

    /// Sizes the per-slot arrays for `slots` slots in one allocation each (growing by doubling
    /// instead would leave the freed smaller copies in the process's heap).
    mutating func reserve(slots n: Int) {
        guard n > route.count else { return }
        let zero: (reads: UInt32, writes: UInt32) = (0, 0)
        route.reserveCapacity(n)
        route += repeatElement(UInt32.max, count: n - route.count)
        current.reserveCapacity(n)
        current += repeatElement(zero, count: n - current.count)
        previous.reserveCapacity(n)
        previous += repeatElement(zero, count: n - previous.count)
    }

    /// Moves to the fixed window holding `nowMs`. Touches the active slots only.
    mutating func roll(to nowMs: Int64) {
        let n = nowMs / windowMs
        guard n != window else { return }
        if n == window + 1 {
            swap(&previous, &current)
            totalPrevious = totalCurrent
            for slot in active { current[Int(slot)] = (0, 0) }
            active.removeAll { previous[Int($0)] == (0, 0) }
        } else {
            for slot in active {
                current[Int(slot)] = (0, 0)
                previous[Int(slot)] = (0, 0)
            }
            active.removeAll(keepingCapacity: true)
            totalPrevious = (0, 0)
        }
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

    /// The `k` slots with the most `op` operations over the last window, busiest first
    /// (ties: lower slot), with their estimated counts.
    func top(_ k: Int, op: Op, nowMs: Int64) -> [(slot: Int, route: RouteID, count: Double)] {
        guard k > 0 else { return [] }
        let w = weightOfPrevious(nowMs: nowMs)
        var best: [(slot: Int, route: RouteID, count: Double)] = []
        for slot in active {
            let i = Int(slot)
            let (c, p) = op == .read ? (current[i].reads, previous[i].reads) : (current[i].writes, previous[i].writes)
            guard c | p != 0 else { continue }
            let est = Double(c) + Double(p) * w
            guard est > 0 else { continue }
            // Ranked by count, ties by slot (the active list is in first-touch order).
            func precedes(_ e: (slot: Int, route: RouteID, count: Double)) -> Bool { est > e.count || (est == e.count && i < e.slot) }
            if best.count == k, let last = best.last, !precedes(last) { continue }
            let pos = best.firstIndex(where: precedes) ?? best.count
            best.insert((i, RouteID(route[i]), est), at: pos)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
