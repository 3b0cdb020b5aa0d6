import KeyViz
@testable import KeyVizPrometheus
import Testing

/// The hot-route ranking looks only at candidates; it must equal a full scan of every slot.
@Suite struct HotRouteTrackerTests {
    /// The reference: every slot's counts, ranked by a full scan.
    private struct Model {
        var route: [Int: UInt64] = [:]
        var current: [Int: (UInt64, UInt64)] = [:]
        var previous: [Int: (UInt64, UInt64)] = [:]
        var window: Int64 = .min

        mutating func roll(_ nowMs: Int64, _ windowMs: Int64) {
            let n = nowMs / windowMs
            guard n != window else { return }
            previous = n == window + 1 ? current : [:]
            current = [:]
            window = n
        }

        mutating func add(slot: Int, route id: UInt64, reads: UInt64, writes: UInt64) {
            if route[slot] != id {
                route[slot] = id
                current[slot] = nil
                previous[slot] = nil
            }
            let c = current[slot] ?? (0, 0)
            current[slot] = (min(c.0 + reads, UInt64(UInt32.max)), min(c.1 + writes, UInt64(UInt32.max)))
        }

        func estimates(_ o: Int, w: Double) -> [Int: Double] {
            var out: [Int: Double] = [:]
            for slot in Set(current.keys).union(previous.keys) {
                let c = current[slot].map { o == 0 ? $0.0 : $0.1 } ?? 0
                let p = previous[slot].map { o == 0 ? $0.0 : $0.1 } ?? 0
                out[slot] = Double(c) + Double(p) * w
            }
            return out
        }

        func top(_ k: Int, _ o: Int, w: Double) -> [(slot: Int, route: RouteID, count: Double)] {
            var all: [(slot: Int, route: RouteID, count: Double)] = []
            for slot in Set(current.keys).union(previous.keys) {
                let c = current[slot].map { o == 0 ? $0.0 : $0.1 } ?? 0
                let p = previous[slot].map { o == 0 ? $0.0 : $0.1 } ?? 0
                let est = Double(c) + Double(p) * w
                if est > 0 { all.append((slot, RouteID(route[slot]!), est)) }
            }
            all.sort { $0.count > $1.count || ($0.count == $1.count && $0.slot < $1.slot) }
            return Array(all.prefix(k))
        }
    }

    /// Batched: each fold's deltas go through `fold(slots:deltas:owners:into:unowned:bucketOf:)` (the render's path, with
    /// its fast loop) instead of one `add` each; the buckets' sums are checked as well.
    @Test(arguments: [false, true])
    func rankingCandidatesOnlyEqualsAFullScanOverRandomTraffic(batched: Bool) {
        let windowMs: Int64 = 1000
        for seed in UInt64(1)...60 {
            var values = [OpCounts](repeating: .zero, count: 7)
            var wantValues = values
            var rng = SplitMix64(seed: seed)
            let k = [1, 3, 5, 12][Int.random(in: 0..<4, using: &rng)]
            let slots = [8, 50, 400][Int.random(in: 0..<3, using: &rng)]
            let skewed = Int.random(in: 0..<2, using: &rng) == 0
            var now: Int64 = 10_000
            var tracker = HotRouteTracker(windowMs: windowMs, nowMs: now, ranks: k)
            var model = Model()
            var routeOf = (0..<slots).map { UInt64($0 + 1) }
            var nextRoute = UInt64(slots + 1)
            for step in 0..<300 {
                // One fold: a roll, then deltas for some slots, then the compaction.
                now += [0, 7, 90, 400, 1000, 2500][Int.random(in: 0..<6, using: &rng)]
                tracker.roll(to: now)
                model.roll(now, windowMs)
                // A run as a collect hands it over: slots, their deltas, and every slot's owner.
                var runSlots: [Int] = [], runDeltas: [OpCounts] = []
                func foldRun() {
                    let owners = [SlotOwner(seen: 0, id: 0)] + routeOf.map { SlotOwner(seen: 1, id: UInt32($0)) }
                    var unowned = OpCounts()
                    runSlots.withUnsafeBufferPointer { slots in
                        runDeltas.withUnsafeBufferPointer { deltas in
                            owners.withUnsafeBufferPointer { owners in
                                values.withUnsafeMutableBufferPointer { v in
                                    tracker.fold(slots: slots, deltas: deltas, owners: owners, into: v, unowned: &unowned) { slot in slot % 7 }
                                }
                            }
                        }
                    }
                    runSlots = []
                    runDeltas = []
                }
                for _ in 0..<(1 + Int.random(in: 0..<30, using: &rng)) {
                    let r = Int.random(in: 0..<slots, using: &rng)
                    let slot = 1 + (skewed ? (r * r) / slots : r)
                    if Int.random(in: 0..<200, using: &rng) == 0 {                 // the slot is recycled for a new route
                        if batched { foldRun() }                                  // (a run has one owner per slot)
                        routeOf[slot - 1] = nextRoute
                        nextRoute += 1
                    }
                    let reads = UInt64(Int.random(in: 0..<3, using: &rng) == 0 ? 0 : 1 + Int.random(in: 0..<(skewed ? 50 : 5), using: &rng))
                    let writes = UInt64(Int.random(in: 0..<2, using: &rng) == 0 ? 0 : 1 + Int.random(in: 0..<5, using: &rng))
                    guard reads + writes > 0 else { continue }
                    if batched {
                        runSlots.append(slot)
                        runDeltas.append(OpCounts(reads: reads, writes: writes))
                        wantValues[slot % 7] += OpCounts(reads: reads, writes: writes)
                    } else {
                        tracker.add(slot: slot, route: RouteID(routeOf[slot - 1]), reads: reads, writes: writes)
                    }
                    model.add(slot: slot, route: routeOf[slot - 1], reads: reads, writes: writes)
                }
                if batched {
                    foldRun()
                    #expect(values == wantValues, "seed \(seed) step \(step)")
                }
                tracker.compact()
                let at = now + Int64(Int.random(in: 0..<(Int(windowMs)), using: &rng))
                guard at / windowMs == now / windowMs else { continue }
                let got = tracker.top(nowMs: at)
                let w = 1 - Double(at - (at / windowMs) * windowMs) / Double(windowMs)
                for (o, ranked) in [got.reads, got.writes].enumerated() {
                    let want = model.top(k, o, w: w)
                    // The same counts in the same order, and each entry is that route's own count
                    // (a route tied with the last place may stand in for another).
                    let own = model.estimates(o, w: w)
                    let same = ranked.map(\.count) == want.map(\.count)
                        && ranked.allSatisfy { own[$0.slot] == $0.count && RouteID(model.route[$0.slot]!) == $0.route }
                        && Set(ranked.map(\.slot)).count == ranked.count
                    #expect(same, "seed \(seed) step \(step) op \(o): got \(ranked.map { ($0.slot, $0.count) }), want \(want.map { ($0.slot, $0.count) })")
                    if !same { return }
                }
            }
        }
    }

    /// The fold's plain loop leaves to the methods a slot no route owns (its delta goes to
    /// `unowned`, no bucket or window changes) and any count that reaches 2^32 (the cell
    /// saturates there, the bucket's sum stays exact).
    @Test func unownedSlotsAndCountsReaching2To32LeaveThePlainLoop() {
        // No ranks: nothing for the candidates to note, so a claimed, active cell's counts take
        // the plain loop unless they reach 2^32.
        var tracker = HotRouteTracker(windowMs: 60_000, nowMs: 0, ranks: 0)
        tracker.roll(to: 0)
        // Slots 1 and 2 owned by routes 11 and 12, slot 3 never owned.
        let owners = [SlotOwner(seen: 0, id: 0), SlotOwner(seen: 1, id: 11), SlotOwner(seen: 1, id: 12), SlotOwner(seen: 0, id: 0)]
        var values = [OpCounts](repeating: .zero, count: 2)
        var unowned = OpCounts()
        func fold(_ run: [(Int, OpCounts)]) {
            let slots = run.map(\.0), deltas = run.map(\.1)
            slots.withUnsafeBufferPointer { s in
                deltas.withUnsafeBufferPointer { d in
                    owners.withUnsafeBufferPointer { o in
                        values.withUnsafeMutableBufferPointer { v in
                            tracker.fold(slots: s, deltas: d, owners: o, into: v, unowned: &unowned) { slot in slot - 1 }
                        }
                    }
                }
            }
        }
        let big: UInt64 = 3_000_000_000
        fold([(1, OpCounts(reads: 5)), (2, OpCounts(reads: 7)), (3, OpCounts(reads: 9))])   // claims the cells
        fold([(1, OpCounts(reads: big)), (2, OpCounts(reads: 1 << 33)), (3, OpCounts(writes: 4))])
        #expect(tracker.currentCounts(slot: 1) == (5 + UInt32(big), 0), "below 2^32: added in the plain loop")
        fold([(1, OpCounts(reads: big, writes: 2)), (2, OpCounts(reads: 1))])
        #expect(unowned == OpCounts(reads: 9, writes: 4))
        #expect(values == [OpCounts(reads: 5 + 2 * big, writes: 2), OpCounts(reads: 7 + (1 << 33) + 1)])
        #expect(tracker.currentCounts(slot: 1) == (UInt32.max, 2), "saturated, not wrapped")
        #expect(tracker.currentCounts(slot: 2) == (UInt32.max, 0))
        #expect(tracker.currentCounts(slot: 3) == (0, 0))
    }

    @Test func skewedAndUniformTrafficLeaveAHandfulOfCandidates() {
        var tracker = HotRouteTracker(windowMs: 60_000, nowMs: 0, ranks: 5)
        tracker.roll(to: 0)
        for slot in 1...20_000 { tracker.add(slot: slot, route: RouteID(slot), reads: slot <= 5 ? 10_000 : 1, writes: 0) }
        tracker.compact()
        #expect(tracker.candidateCount <= 10, "5 routes far above the rest: only they are looked at")
        // Uniform traffic: every route ties, and a tie with the last place is not a candidate.
        var uniform = HotRouteTracker(windowMs: 60_000, nowMs: 0, ranks: 5)
        uniform.roll(to: 0)
        for _ in 0..<3 { for slot in 1...20_000 { uniform.add(slot: slot, route: RouteID(slot), reads: 1, writes: 1) } }
        uniform.compact()
        #expect(uniform.candidateCount <= 20, "\(uniform.candidateCount) candidates for 20 000 tied routes")
        #expect(uniform.top(nowMs: 1).reads.map(\.count) == [3, 3, 3, 3, 3])
        let top = tracker.top(nowMs: 1).reads
        #expect(top.map(\.slot) == [1, 2, 3, 4, 5])
    }
}
