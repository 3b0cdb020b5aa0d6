@testable import KeyViz
import KeyVizTestKit
import Testing

/// The one table a sampler chain counts in (`RouteSlots`): every consumer gets every count once,
/// whoever drains and in whatever order; drains visit only touched slots; a retired slot is
/// recycled only after every consumer has been told about its last counts.
@Suite struct SharedCounterTableTests {
    private static func observe(_ table: RouteSlots, _ route: RouteID, _ op: Op, _ bytes: UInt64) {
        table.counters.storage.record(route: route, op: op, bytes: bytes)
    }

    @Test func everyConsumerGetsEveryCountOnceAndEachSlotOncePerCollectWhateverTheCollectOrder() {
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            let table = RouteSlots(stripes: 2, graceMs: 0)
            let consumers = (0..<3).map { _ in table.addConsumer() }
            let catalog = RouteCatalog.evenlySplit(count: 100, groups: 2)   // more dirty slots than one drain batch
            table.apply(catalog, nowMs: 0)
            var observed: [RouteID: OpCounts] = [:]
            var seen = Array(repeating: [RouteID: OpCounts](), count: consumers.count)
            var unroutedSeen = Array(repeating: OpCounts(), count: consumers.count)
            var unrouted = OpCounts()
            func collect(_ c: Int) {
                var slots = Set<Int>()
                unroutedSeen[c] += table.collect(consumer: consumers[c], nowMs: 0) { slot, id, delta, _ in
                    #expect(slots.insert(slot).inserted, "seed \(seed): a collect handed over slot \(slot) twice")
                    #expect(!delta.isZero, "seed \(seed): a collect handed over a zero delta")
                    seen[c][id, default: .zero] += delta
                }
            }
            for _ in 0..<400 {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0...6:
                    let id = Int.random(in: 0..<24, using: &rng) == 0 ? RouteID.unrouted : RouteID(Int.random(in: 0..<100, using: &rng) + 1)
                    let op: Op = Int.random(in: 0..<2, using: &rng) == 0 ? .read : .write
                    let bytes = UInt64(Int.random(in: 0..<100, using: &rng))
                    Self.observe(table, id, op, bytes)
                    if id == .unrouted { unrouted.record(op: op, bytes: bytes) } else { observed[id, default: .zero].record(op: op, bytes: bytes) }
                default:
                    collect(Int.random(in: 0..<consumers.count, using: &rng))
                }
            }
            for c in consumers.indices {
                collect(c)
                #expect(seen[c] == observed, "seed \(seed): consumer \(c) saw other per-route counts than were observed")
                #expect(unroutedSeen[c] == unrouted, "seed \(seed): consumer \(c) unrouted")
            }
        }
    }

    /// Hundreds of touched slots (many drain batches and inbox growth mid-batch), a third of
    /// them marked dirty with nothing to take (as when an add races a drain): each consumer gets
    /// each route's exact delta once per collect, and no zero delta, whether its share comes
    /// from its own drain, from its inbox, or from both at once.
    @Test func zeroDeltasAreDroppedAndEachSlotKeepsItsOwnDeltaOverManyBatches() {
        let table = RouteSlots(stripes: 2, graceMs: 0)
        let a = table.addConsumer(), b = table.addConsumer()
        // Enough routes that a drain hands over many 64-slot runs, and the inbox's runs split
        // at other places.
        let catalog = RouteCatalog.evenlySplit(count: 900, groups: 3)
        table.apply(catalog, nowMs: 0)
        func touch(_ ids: some Sequence<Int>, bytes: UInt64) -> [RouteID: OpCounts] {
            var expected: [RouteID: OpCounts] = [:]
            for i in ids {
                let id = catalog.routes[i].id
                if i % 3 == 0 {
                    table.counters.preload(slot: table.counters.slot(of: id), stripe: i % 2, op: .read, operations: 0, bytes: 0)
                } else {
                    let op: Op = i % 3 == 1 ? .read : .write
                    Self.observe(table, id, op, bytes + UInt64(i))
                    expected[id, default: .zero].record(op: op, bytes: bytes + UInt64(i))
                }
            }
            return expected
        }
        func collect(_ c: Int) -> [RouteID: OpCounts] {
            var got: [RouteID: OpCounts] = [:]
            var slots = Set<Int>()
            table.collect(consumer: c, nowMs: 0) { slot, id, d, _ in
                #expect(slots.insert(slot).inserted, "slot \(slot) handed over twice in one collect")
                #expect(!d.isZero, "route \(id): a zero delta was handed over")
                got[id] = d
            }
            return got
        }
        let first = touch(0..<900, bytes: 10)
        #expect(first.count == 600)
        #expect(collect(a) == first, "a's own drain, over thirty batches")
        #expect(collect(b) == first, "b's inbox, filled by a's drain")
        // Some routes go into a's inbox (b drains them), then some of those and others are
        // touched again: a's collect joins its drain with its inbox.
        let second = touch(stride(from: 0, to: 900, by: 2), bytes: 1_000)
        #expect(collect(b) == second)
        let third = touch(stride(from: 0, to: 900, by: 5), bytes: 100_000)
        #expect(collect(a) == second.merging(third, uniquingKeysWith: +))
        #expect(collect(b) == third)
    }

    @Test func countsFromManyThreadsReachEveryConsumerExactlyOnce() async {
        let table = RouteSlots(stripes: 4, graceMs: 0)
        let a = table.addConsumer(), b = table.addConsumer()
        let catalog = RouteCatalog.evenlySplit(count: 64, groups: 1)
        table.apply(catalog, nowMs: 0)
        let threads = 4, perThread = 50_000
        var totals = await withTaskGroup(of: (a: UInt64, b: UInt64).self) { group in
            for t in 0..<threads {
                group.addTask {
                    for i in 0..<perThread { Self.observe(table, RouteID((i &* 7 &+ t) % 64 + 1), .write, 1) }
                    return (0, 0)
                }
            }
            group.addTask {
                var sums: (a: UInt64, b: UInt64) = (0, 0)
                for i in 0..<2_000 {
                    let c = i % 3 == 0 ? b : a
                    let got = table.collect(consumer: c, nowMs: 0) { _, _, d, _ in
                        if c == a { sums.a += d.writes } else { sums.b += d.writes }
                    }
                    #expect(got.isZero)
                }
                return sums
            }
            var all: (a: UInt64, b: UInt64) = (0, 0)
            for await s in group { all.a += s.a; all.b += s.b }
            return all
        }
        table.collect(consumer: a, nowMs: 0) { _, _, d, _ in totals.a += d.writes }
        table.collect(consumer: b, nowMs: 0) { _, _, d, _ in totals.b += d.writes }
        let expected = UInt64(threads * perThread)
        #expect(totals.a == expected)
        #expect(totals.b == expected)
    }

    /// Dirty bits in two levels: with routes over many summary words (200 000 slots, 49 words of
    /// the summary) and drains racing the adds, every count still arrives exactly once.
    @Test func countsOverManySummaryWordsArriveExactlyOnceWithDrainsRacing() async {
        let table = RouteSlots(stripes: 4, graceMs: 0)
        let a = table.addConsumer()
        let routes = 200_000
        table.apply(RouteCatalog.evenlySplit(count: routes, groups: 4), nowMs: 0)
        let threads = 3, perThread = 60_000
        var total = await withTaskGroup(of: UInt64.self) { group in
            for t in 0..<threads {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(t) + 1)
                    for _ in 0..<perThread { Self.observe(table, RouteID(rng.next() % UInt64(routes) + 1), .write, 1) }
                    return 0
                }
            }
            group.addTask {
                var sum: UInt64 = 0
                for _ in 0..<300 { table.collect(consumer: a, nowMs: 0) { _, _, d, _ in sum += d.writes } }
                return sum
            }
            var all: UInt64 = 0
            for await s in group { all += s }
            return all
        }
        table.collect(consumer: a, nowMs: 0) { _, _, d, _ in total += d.writes }
        #expect(total == UInt64(threads * perThread))
        table.collect(consumer: a, nowMs: 0) { _, _, _, _ in Issue.record("a drained slot stayed marked") }
    }

    @Test func aCollectVisitsOnlyTheSlotsTouchedSinceTheLastDrain() {
        let table = RouteSlots(stripes: 2, graceMs: 0)
        let c = table.addConsumer()
        let catalog = RouteCatalog.evenlySplit(count: 50_000, groups: 4)
        table.apply(catalog, nowMs: 0)
        for r in catalog.routes { Self.observe(table, r.id, .read, 1) }
        var delivered = 0
        table.collect(consumer: c, nowMs: 0) { _, _, _, _ in delivered += 1 }
        #expect(delivered == 50_000)
        let before = table.slotsVisited
        for id in [3, 17_000, 49_999, 3] as [RouteID] { Self.observe(table, id, .write, 8) }
        var got: [RouteID: OpCounts] = [:]
        table.collect(consumer: c, nowMs: 0) { _, id, d, _ in got[id] = d }
        #expect(table.slotsVisited - before == 3)
        #expect(got == [3: OpCounts(writes: 2, writeBytes: 16), 17_000: OpCounts(writes: 1, writeBytes: 8),
                        49_999: OpCounts(writes: 1, writeBytes: 8)])
        table.collect(consumer: c, nowMs: 0) { _, _, _, _ in Issue.record("nothing was observed since") }
        #expect(table.slotsVisited - before == 3)
    }

    @Test func aRetiredSlotIsRecycledOnlyAfterEveryConsumerHadItsLastCounts() throws {
        let table = RouteSlots(stripes: 1, graceMs: 10)
        let fast = table.addConsumer(), slow = table.addConsumer()
        let first = RouteCatalog.evenlySplit(count: 2, groups: 1)
        table.apply(first, nowMs: 0)
        Self.observe(table, 2, .write, 5)
        let shrunk = try first.removing(2)
        table.apply(shrunk, nowMs: 0)
        // Past the grace window: route 2 is unmapped; its count waits in the slow inbox.
        table.collect(consumer: fast, nowMs: 100) { slot, id, d, owners in #expect(id == 2 && d.writes == 1 && owners.route(ofSlot: slot)?.id == 2) }
        let grown = try shrunk.adding(Route(id: 3, start: first.routes[1].start, end: [], group: 1))
        table.apply(grown, nowMs: 100)
        var slowSaw: [RouteID: OpCounts] = [:]
        table.collect(consumer: slow, nowMs: 100) { slot, id, d, owners in
            #expect(owners.route(ofSlot: slot)?.id == id)
            slowSaw[id, default: .zero] += d
        }
        #expect(slowSaw == [2: OpCounts(writes: 1, writeBytes: 5)], "the count is reported with the route that made it")
        #expect(table.slotCount == 4, "route 3 took a fresh slot: route 2's was still owed to the slow consumer")
    }
}
