import KeyViz

/// The busiest routes over a sliding window, computed in-process from folded per-route deltas.
///
/// Per counter slot it keeps the counts of the current fixed window and of the previous one, and
/// estimates the count over the last `window` as `current + previous × (1 − elapsed fraction)`
/// (the sliding-window estimate of rate limiters). Traffic older than two windows counts for
/// nothing. Rates divide by the time the window covers (less than the window right after start).
///
/// *Cost follows the traffic.* Ranking never scans the slots. For each op the tracker keeps,
/// while folding, the `ranks` largest current counts (the *leaders*); the smallest of them, T
/// (0 until there are `ranks`), is at most the `ranks`-th best estimate, since each leader's
/// estimate is at least its current count. A route outside the leaders can only rank above
/// them if its estimate exceeds T, and an estimate never exceeds current + previous. So the
/// candidates are the leaders, the routes whose current + previous exceeded the running T when
/// last folded (listed as they do; T only grows within a window), and the routes whose previous
/// count alone exceeds T (listed at the window's roll by powers of two). Ranking the candidates
/// gives the same counts as a full scan (`HotRouteTrackerTests`); routes that tie with the last
/// place may be swapped for one another. Its cost is the number of candidates: a handful with
/// skewed traffic, and with uniform traffic too, since routes that tie with T are not
/// candidates. 24 bytes per slot (with the bucket cache and the list marks), 4 per active route and per candidate.
struct HotRouteTracker {
    let windowMs: Int64
    /// Routes ranked per op.
    let ranks: Int
    private let startMs: Int64
    private var window: Int64 = .min          // number of the current fixed window

    /// One slot's window counts, 32-bit (a route would need 71 million operations a second for
    /// a whole window to saturate one; they saturate, never wrap), next to the id of the route
    /// they belong to (ids < 2^32), so a ranking reads one line per slot. `bucket` is the
    /// decorator's cache of the bucket that route folds into (-1: not known; budgets are at most
    /// 4 096), kept here because the route id beside it is what says whether it is still valid.
    /// `mark`: bit o (0, 1) listed in op o's `risen`; `inActive`: listed in `active` (a recycled
    /// slot's cell is idle but may still be listed there, so a recycle keeps it). In the cell, so
    /// that a fold touches one line per slot (a separate array was one more page per slot).
    struct Cell {
        var route: UInt32 = .max
        var current: (UInt32, UInt32) = (0, 0)     // per op index: reads, writes
        var previous: (UInt32, UInt32) = (0, 0)
        var bucket: Int16 = -1
        var mark: UInt8 = 0

        var isIdle: Bool { current.0 | current.1 | previous.0 | previous.1 == 0 }
        func current(_ o: Int) -> UInt32 { o == 0 ? current.0 : current.1 }
        func previous(_ o: Int) -> UInt32 { o == 0 ? previous.0 : previous.1 }
    }

    /// One op's candidates (see the type's comment).
    struct Candidates {
        /// The `ranks` largest current counts (slot, count), unordered.
        var leaders: [(slot: UInt32, count: UInt32)] = []
        /// T: the smallest leader's count once there are `ranks` leaders, else 0.
        var floor: UInt64 = 0
        /// Slots whose current + previous count exceeded the running T when last folded (a
        /// superset of those above it now; compacted after folds in which T doubled).
        var risen: [UInt32] = []
        var compactedAt: UInt64 = 0
        /// Slots with a previous count, by its bit length (bucket j: 2^(j-1) ≤ p < 2^j).
        var byPrevious: [[UInt32]] = []
        /// A leader left mid-window (its slot was recycled), so T may have dropped below what
        /// `risen` was built against: rank by scanning the active slots until the next roll.
        var scanAll = false

        /// Keeps `leaders` the `ranks` largest current counts; one comparison in the common case.
        @inline(__always)
        mutating func lead(slot: UInt32, count: UInt32, ranks: Int) {
            if leaders.count == ranks && UInt64(count) <= floor { return }
            promote(slot: slot, count: count, ranks: ranks)
        }

        @inline(never)
        private mutating func promote(slot: UInt32, count: UInt32, ranks: Int) {
            if let i = leaders.firstIndex(where: { $0.slot == slot }) {
                leaders[i].count = count
            } else if leaders.count < ranks {
                leaders.append((slot, count))
            } else if let m = leaders.indices.min(by: { leaders[$0].count < leaders[$1].count }) {
                leaders[m] = (slot, count)
            }
            floor = leaders.count == ranks ? UInt64(leaders.lazy.map(\.count).min() ?? 0) : 0
        }

        /// A slot's current count grew to `count` (`previous` in the last window): it may lead;
        /// returns whether it is listed now (its bound exceeds T and it was not listed).
        @inline(__always)
        mutating func note(slot: UInt32, count: UInt32, previous: UInt32, listed: Bool, ranks: Int) -> Bool {
            lead(slot: slot, count: count, ranks: ranks)
            guard !listed, UInt64(count) + UInt64(previous) > floor else { return false }
            risen.append(slot)
            return true
        }

        mutating func forget(slot: UInt32) {
            guard leaders.contains(where: { $0.slot == slot }) else { return }
            leaders.removeAll { $0.slot == slot }
            floor = 0
            scanAll = true
        }

        mutating func reset() {
            leaders.removeAll(keepingCapacity: true)
            risen.removeAll(keepingCapacity: true)
            byPrevious = Array(repeating: [], count: 33)
            floor = 0
            compactedAt = 0
            scanAll = false
        }

        /// Whether bucket `j` of `byPrevious` (counts below 2^j) can hold a count above T.
        func bucketMayReach(_ j: Int) -> Bool {
            j > 0 && (UInt64(1) << UInt64(j)) - 1 > floor
        }

        /// Slots a ranking would look at in the lists.
        var listed: Int {
            leaders.count + risen.count + byPrevious.indices.reduce(0) { $0 + (bucketMayReach($1) ? byPrevious[$1].count : 0) }
        }
    }

    private var cells: [Cell] = []
    private static let inActive: UInt8 = 4
    private var totalCurrent: (reads: UInt64, writes: UInt64) = (0, 0)
    private var totalPrevious: (reads: UInt64, writes: UInt64) = (0, 0)
    /// Slots with a non-zero count in the current or the previous window, each once.
    private var active: [UInt32] = []
    private var readCandidates = Candidates()
    private var writeCandidates = Candidates()

    init(windowMs: Int64, nowMs: Int64, ranks: Int) {
        self.windowMs = max(1, windowMs)
        self.ranks = max(0, ranks)
        startMs = nowMs
    }

    /// Makes `slot`'s cell belong to route `id` (when the slot was recycled, the old route's
    /// counts leave) and returns its cached bucket, -1 when not known.
    @inline(__always)
    mutating func claim(slot: Int, route id: RouteID) -> Int {
        if slot >= cells.count { reserve(slots: max(slot + 1, cells.count * 2)) }
        if UInt64(cells[slot].route) != id.rawValue { recycle(slot: slot, route: id) }
        return Int(cells[slot].bucket)
    }

    private mutating func recycle(slot: Int, route id: RouteID) {
        let cell = cells[slot]
        totalCurrent.reads &-= UInt64(cell.current.0); totalCurrent.writes &-= UInt64(cell.current.1)
        totalPrevious.reads &-= UInt64(cell.previous.0); totalPrevious.writes &-= UInt64(cell.previous.1)
        cells[slot] = Cell(route: UInt32(truncatingIfNeeded: id.rawValue), mark: cell.mark)
        readCandidates.forget(slot: UInt32(slot))
        writeCandidates.forget(slot: UInt32(slot))
    }

    /// Caches the bucket of the route that owns `slot` (after ``claim(slot:route:)``).
    mutating func setBucket(_ bucket: Int, slot: Int) { cells[slot].bucket = Int16(bucket) }

    /// Caches `route`'s bucket from a layout walk, unless the cell still holds another route's
    /// counts (that route keeps ranking until the slot's new owner has traffic).
    mutating func seedBucket(_ bucket: Int, slot: Int, route id: RouteID) {
        if slot >= cells.count { reserve(slots: max(slot + 1, cells.count * 2)) }
        if UInt64(cells[slot].route) != id.rawValue {
            guard cells[slot].isIdle else { return }
            recycle(slot: slot, route: id)
        }
        cells[slot].bucket = Int16(bucket)
    }

    /// The cached bucket of `route` at `slot`, nil when not known.
    func cachedBucket(slot: Int, route id: RouteID) -> Int? {
        guard slot < cells.count, UInt64(cells[slot].route) == id.rawValue, cells[slot].bucket >= 0 else { return nil }
        return Int(cells[slot].bucket)
    }

    /// Forgets every cached bucket (the layout changed).
    mutating func forgetBuckets() {
        cells.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i].bucket = -1 } }
    }

    /// Call ``roll(to:)`` first (once per fold, not per delta).
    mutating func add(slot: Int, route id: RouteID, reads: UInt64, writes: UInt64) {
        _ = claim(slot: slot, route: id)
        addClaimed(slot: slot, reads: reads, writes: writes)
    }

    /// ``add(slot:route:reads:writes:)`` for a slot already claimed for its route (the fold
    /// claims it when it looks up the bucket): one read and one write of the cell and its mark.
    @inline(__always)
    mutating func addClaimed(slot: Int, reads: UInt64, writes: UInt64) {
        var cell = cells[slot]
        let s = UInt32(slot)
        cell.current.0 = Self.saturating(cell.current.0, reads)
        cell.current.1 = Self.saturating(cell.current.1, writes)
        totalCurrent.reads &+= reads
        totalCurrent.writes &+= writes
        var mark = cell.mark
        if mark & Self.inActive == 0 && !cell.isIdle {
            active.append(s)
            mark |= Self.inActive
        }
        if ranks > 0 {
            if reads != 0, readCandidates.note(slot: s, count: cell.current.0, previous: cell.previous.0, listed: mark & 1 != 0, ranks: ranks) {
                mark |= 1
            }
            if writes != 0, writeCandidates.note(slot: s, count: cell.current.1, previous: cell.previous.1, listed: mark & 2 != 0, ranks: ranks) {
                mark |= 2
            }
        }
        cell.mark = mark
        cells[slot] = cell
    }

    /// Folds a run of deltas (`slots[i]` changed by `deltas[i]`; `owners` holds every slot's
    /// owner, indexed by slot), entry by entry as ``claim(slot:route:)``,
    /// ``setBucket(_:slot:)``, an add to the bucket in `values` and
    /// ``addClaimed(slot:reads:writes:)`` would: each into the bucket cached in its slot's cell
    /// (`bucketOf` finds it on a miss) and into the slot's window counts. A slot no route has
    /// owned adds to `unowned` instead. Entries that only add counts (the slot's route and
    /// bucket known, the slot active, no candidate list to change: the common case) go through
    /// a loop over raw buffers; any other entry through those methods. Call ``roll(to:)`` first.
    mutating func fold(slots: UnsafeBufferPointer<Int>, deltas: UnsafeBufferPointer<OpCounts>, owners: UnsafeBufferPointer<SlotOwner>,
                       into values: UnsafeMutableBufferPointer<OpCounts>, unowned: inout OpCounts,
                       bucketOf: (_ slot: Int) -> Int) {
        var i = 0
        while i < slots.count {
            i = foldPlain(slots: slots, deltas: deltas, owners: owners, from: i, into: values)
            guard i < slots.count else { break }
            let slot = slots[i], owner = owners[slot], delta = deltas[i]
            i += 1
            guard owner.seen != 0 else {
                unowned += delta
                continue
            }
            var b = claim(slot: slot, route: RouteID(UInt64(owner.id)))
            if b < 0 {
                b = bucketOf(slot)
                setBucket(b, slot: slot)
            }
            // `values` is a raw buffer (no bounds check of its own); a cached bucket is reset at
            // every relayout, so it is always in range.
            precondition(b < values.count, "a cached bucket outlived its layout")
            values[b] += delta
            addClaimed(slot: slot, reads: delta.reads, writes: delta.writes)
        }
    }

    /// The entries from `start` on that only add counts, up to the first that needs more (see
    /// ``fold(slots:deltas:owners:into:unowned:bucketOf:)``); returns that one's index, the
    /// run's count when none does. Out of line and over base pointers, with the candidate
    /// checks reduced to one limit per op (inlined into the fold, the loop kept its pointers and
    /// limits on the stack).
    @inline(never)
    private mutating func foldPlain(slots: UnsafeBufferPointer<Int>, deltas: UnsafeBufferPointer<OpCounts>, owners: UnsafeBufferPointer<SlotOwner>,
                                    from start: Int, into values: UnsafeMutableBufferPointer<OpCounts>) -> Int {
        let readLimit = Self.plainLimit(readCandidates, ranks: ranks), writeLimit = Self.plainLimit(writeCandidates, ranks: ranks)
        var totals = totalCurrent
        let n = slots.count
        guard start < n, let slotAt = slots.baseAddress, let deltaAt = deltas.baseAddress, let ownerAt = owners.baseAddress,
              let valueAt = values.baseAddress else { return start }
        let valueCount = UInt(values.count)
        let end = cells.withUnsafeMutableBufferPointer { cells in
            guard let cellAt = cells.baseAddress else { return start }
            let cellCount = UInt(cells.count)
            var i = start
            while i < n {
                let slot = slotAt[i]
                guard UInt(bitPattern: slot) < cellCount else { return i }
                let cell = cellAt[slot]
                let b = Int(cell.bucket)
                // A slot's cell holds its owner's counts: a never-owned slot (id 0, `seen` 0) never
                // matches, since cells are claimed only for owned slots. `b` in range also says
                // it is not -1 (unknown).
                guard cell.route == ownerAt[slot].id, UInt(bitPattern: b) < valueCount, cell.mark & Self.inActive != 0 else { return i }
                let delta = deltaAt[i]
                let r = UInt64(cell.current.0) &+ delta.reads, w = UInt64(cell.current.1) &+ delta.writes
                // A count that reaches 2^32 saturates the cell: left to the methods (with deltas
                // below 2^32 the sums cannot wrap).
                guard (delta.reads | delta.writes | r | w) >> 32 == 0 else { return i }
                // `note` would neither change the leaders nor list the slot.
                if delta.reads != 0 && (r > readLimit || (cell.mark & 1 == 0 && r &+ UInt64(cell.previous.0) > readLimit)) { return i }
                if delta.writes != 0 && (w > writeLimit || (cell.mark & 2 == 0 && w &+ UInt64(cell.previous.1) > writeLimit)) { return i }
                cellAt[slot].current = (UInt32(truncatingIfNeeded: r), UInt32(truncatingIfNeeded: w))
                totals.reads &+= delta.reads
                totals.writes &+= delta.writes
                valueAt[b] += delta
                i &+= 1
            }
            return i
        }
        totalCurrent = totals
        return end
    }

    /// The largest count (current, and current + previous of an unlisted slot) that the fold's
    /// plain loop may leave to an op's candidates unchanged: `note` changes nothing for a count
    /// at or below T once there are `ranks` leaders; below that every count must go to `note`
    /// (0: a changed count is at least 1); with no ranks there is nothing to note.
    private static func plainLimit(_ c: Candidates, ranks: Int) -> UInt64 {
        guard ranks > 0 else { return .max }
        return c.leaders.count == ranks ? c.floor : 0
    }

    /// Drops listed slots whose current + previous count no longer exceeds T (after a fold).
    /// Only when T has at least doubled since the last compaction (slots listed since exceeded
    /// the T of their time, and with T growing steadily a compaction at every fold would mostly
    /// keep what it reads): compactions cost O(list) about log T times a window.
    mutating func compact() {
        for o in 0..<2 {
            let c = o == 0 ? readCandidates : writeCandidates
            guard c.floor > 2 * c.compactedAt else { continue }
            var dropped: [UInt32] = []
            var kept: [UInt32] = []
            cells.withUnsafeBufferPointer { cells in
                for slot in c.risen {
                    let cell = cells[Int(slot)]
                    if UInt64(cell.current(o)) + UInt64(cell.previous(o)) > c.floor { kept.append(slot) } else { dropped.append(slot) }
                }
            }
            let bit: UInt8 = 1 << o
            for slot in dropped { cells[Int(slot)].mark &= ~bit }
            if o == 0 {
                readCandidates.risen = kept
                readCandidates.compactedAt = c.floor
            } else {
                writeCandidates.risen = kept
                writeCandidates.compactedAt = c.floor
            }
        }
    }

    @inline(__always)
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
        for slot in readCandidates.risen { cells[Int(slot)].mark &= Self.inActive }
        for slot in writeCandidates.risen { cells[Int(slot)].mark &= Self.inActive }
        readCandidates.reset()
        writeCandidates.reset()
        for slot in active {
            let i = Int(slot)
            cells[i].previous = next ? cells[i].current : (0, 0)
            cells[i].current = (0, 0)
            if ranks > 0 {
                let p = cells[i].previous
                if p.0 != 0 { readCandidates.byPrevious[32 - p.0.leadingZeroBitCount].append(slot) }
                if p.1 != 0 { writeCandidates.byPrevious[32 - p.1.leadingZeroBitCount].append(slot) }
            }
        }
        active.removeAll { slot in
            guard cells[Int(slot)].isIdle else { return false }
            cells[Int(slot)].mark &= ~Self.inActive
            return true
        }
        totalPrevious = next ? totalCurrent : (0, 0)
        totalCurrent = (0, 0)
        window = n
    }

    /// The window counts of the current window in `slot`'s cell (for tests).
    func currentCounts(slot: Int) -> (reads: UInt32, writes: UInt32) {
        slot < cells.count ? cells[slot].current : (0, 0)
    }

    /// Slots a ranking looks at, both ops (for tests of render cost).
    var candidateCount: Int {
        [readCandidates, writeCandidates].reduce(0) { $0 + ($1.scanAll ? active.count : min(active.count, $1.listed)) }
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
    /// first, with their estimated counts; only candidates are looked at (see the type's
    /// comment). Among candidates, ties go to the lower slot; a route tied with the last place
    /// but not a candidate may stand in for it in a full scan.
    func top(nowMs: Int64) -> (reads: [Ranked], writes: [Ranked]) {
        guard ranks > 0 else { return ([], []) }
        let w = weightOfPrevious(nowMs: nowMs)
        return cells.withUnsafeBufferPointer { cells in
            (Self.rank(readCandidates, op: 0, cells: cells, active: active, w: w, ranks: ranks),
             Self.rank(writeCandidates, op: 1, cells: cells, active: active, w: w, ranks: ranks))
        }
    }

    /// One op's ranking: over its candidate lists, or over the active list when the lists are
    /// as long (uniform traffic makes every active route a candidate; same result).
    private static func rank(_ c: Candidates, op o: Int, cells: UnsafeBufferPointer<Cell>, active: [UInt32],
                             w: Double, ranks: Int) -> [Ranked] {
        var best: [Ranked] = []
        best.reserveCapacity(ranks + 1)
        if c.scanAll || c.listed >= active.count {
            for slot in active {
                let cell = cells[Int(slot)]
                consider(Int(slot), cell.current(o), cell.previous(o), w, ranks, cell.route, into: &best)
            }
            return best
        }
        for leader in c.leaders {
            let cell = cells[Int(leader.slot)]
            consider(Int(leader.slot), cell.current(o), cell.previous(o), w, ranks, cell.route, into: &best)
        }
        for slot in c.risen {
            let cell = cells[Int(slot)]
            consider(Int(slot), cell.current(o), cell.previous(o), w, ranks, cell.route, into: &best)
        }
        for j in c.byPrevious.indices where c.bucketMayReach(j) {
            for slot in c.byPrevious[j] {
                let cell = cells[Int(slot)]
                consider(Int(slot), cell.current(o), cell.previous(o), w, ranks, cell.route, into: &best)
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
        // Ranked by count, ties by slot (candidates come in no particular order).
        func precedes(_ e: Ranked) -> Bool { est > e.count || (est == e.count && i < e.slot) }
        if best.count == k, let last = best.last, !precedes(last) { return }
        if best.contains(where: { $0.slot == i }) { return }      // a candidate twice (both lists)
        let pos = best.firstIndex(where: precedes) ?? best.count
        best.insert((i, RouteID(route), est), at: pos)
        if best.count > k { best.removeLast() }
    }
}
