@testable import KeyViz
import KeyVizTestKit
import Testing

/// The counter table packs an op's count (24 bits) and byte sum (40 bits) into one word per
/// stripe and carries what an overflowing add gets wrong into 64-bit carry counters: every
/// drain sum stays exact (modulo 2^64, as `OpCounts` is), for counts that pass 2^24 between two
/// drains, byte sums that pass 2^40 (and carry into the count), both at once, and single
/// observations of 2^40 bytes or more. Preloading a word stands in for 2^24 adds.
@Suite struct CounterCarryTests {
    private static func drainAll(_ table: RouteCounterTable) -> [Int: OpCounts] {
        var out: [Int: OpCounts] = [:]
        table.drainDirty { slot, delta in out[slot, default: .zero] += delta }
        return out
    }

    private static func mapped(routes: Int, stripes: Int) -> RouteCounterTable {
        let table = RouteCounterTable(stripes: stripes)
        for r in 1...routes {
            let slot = table.allocateSlot()!
            table.map(route: RouteID(UInt64(r)), to: slot)
        }
        return table
    }

    private static let fullCount: UInt64 = (1 << 24) - 1
    private static let fullBytes: UInt64 = (1 << 40) - 1

    @Test func operationCountsThatOverflowTheCountFieldAreCarriedExactly() {
        let table = Self.mapped(routes: 1, stripes: 2)
        let slot = table.slot(of: 1)
        for stripe in 0..<2 { table.preload(slot: slot, stripe: stripe, op: .read, operations: Self.fullCount - 2, bytes: 0) }
        for _ in 0..<5 { table.storage.record(route: 1, op: .read, bytes: 1) }
        let got = Self.drainAll(table)[slot]
        #expect(got == OpCounts(reads: 2 * (Self.fullCount - 2) + 5, readBytes: 5))
        #expect(table.carryCount >= 1)
        for _ in 0..<3 { table.storage.record(route: 1, op: .read, bytes: 1) }
        #expect(Self.drainAll(table)[slot] == OpCounts(reads: 3, readBytes: 3), "the carry was drained once")
    }

    @Test func byteSumsThatOverflowIntoTheCountAndHugeSingleObservationsAreCarriedExactly() {
        let table = Self.mapped(routes: 3, stripes: 1)
        let a = table.slot(of: 1), b = table.slot(of: 2), c = table.slot(of: 3)
        table.preload(slot: a, stripe: 0, op: .write, operations: 7, bytes: Self.fullBytes - 10)
        table.storage.record(route: 1, op: .write, bytes: 100)
        let huge: UInt64 = 5 << 40 | 7
        table.storage.record(route: 2, op: .read, bytes: huge)
        table.storage.record(route: 2, op: .read, bytes: .max)
        // Both fields at once: a full count whose bytes carry into it.
        table.preload(slot: c, stripe: 0, op: .read, operations: Self.fullCount - 1, bytes: Self.fullBytes)
        table.storage.record(route: 3, op: .read, bytes: 1)
        let got = Self.drainAll(table)
        #expect(got[a] == OpCounts(writes: 8, writeBytes: Self.fullBytes - 10 + 100))
        #expect(got[b] == OpCounts(reads: 2, readBytes: huge &+ .max))
        #expect(got[c] == OpCounts(reads: Self.fullCount, readBytes: Self.fullBytes + 1))
    }

    @Test func randomAddsNearTheWrapMatchAModelOverManyDrains() {
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            let table = Self.mapped(routes: 6, stripes: 2)
            var model: [Int: OpCounts] = [:], drained: [Int: OpCounts] = [:]
            for _ in 0..<300 {
                let route = RouteID(UInt64.random(in: 1...6, using: &rng))
                let slot = table.slot(of: route)
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:
                    // Only right after a drain, so a preload never overwrites counted adds.
                    for (s, d) in Self.drainAll(table) { drained[s, default: .zero] += d }
                    let op: Op = Bool.random(using: &rng) ? .read : .write
                    let operations = Self.fullCount - UInt64.random(in: 0..<50, using: &rng)
                    let bytes = Self.fullBytes - UInt64.random(in: 0..<5_000, using: &rng)
                    let stripe = ThreadStripe.current(key: ThreadStripe.key) & (table.stripeCount - 1)
                    table.preload(slot: slot, stripe: stripe, op: op, operations: operations, bytes: bytes)
                    model[slot, default: .zero] += op == .read ? OpCounts(reads: operations, readBytes: bytes)
                                                               : OpCounts(writes: operations, writeBytes: bytes)
                case 1:
                    for (s, d) in Self.drainAll(table) { drained[s, default: .zero] += d }
                default:
                    let op: Op = Bool.random(using: &rng) ? .read : .write
                    let bytes: UInt64 = switch Int.random(in: 0..<4, using: &rng) {
                    case 0: UInt64.random(in: 0...UInt64.max, using: &rng)
                    case 1: UInt64.random(in: 0..<(1 << 41), using: &rng)
                    default: UInt64.random(in: 0..<64, using: &rng)
                    }
                    table.storage.record(route: route, op: op, bytes: bytes)
                    model[slot, default: .zero].record(op: op, bytes: bytes)
                }
            }
            for (s, d) in Self.drainAll(table) { drained[s, default: .zero] += d }
            #expect(drained.filter { !$0.value.isZero } == model.filter { !$0.value.isZero }, "seed \(seed)")
        }
    }

    @Test func carriesRacingWithDrainsFromManyThreadsLoseNothing() async {
        let table = Self.mapped(routes: 4, stripes: 4)
        let perThread = 20_000, threads = 4
        // Every stripe starts near full, and about every other add of 3 × 2^39 bytes carries.
        var expected = OpCounts()
        for r in 1...4 {
            for stripe in 0..<4 {
                table.preload(slot: table.slot(of: RouteID(UInt64(r))), stripe: stripe, op: .write,
                              operations: Self.fullCount - 1000, bytes: Self.fullBytes - 1000)
                expected.writes &+= Self.fullCount - 1000
                expected.writeBytes &+= Self.fullBytes - 1000
            }
        }
        let big: UInt64 = 3 << 39
        let total = await withTaskGroup(of: OpCounts.self) { group in
            for t in 0..<threads {
                group.addTask {
                    for i in 0..<perThread { table.storage.record(route: RouteID(UInt64((i + t) % 4 + 1)), op: .write, bytes: big) }
                    return .zero
                }
            }
            group.addTask {
                var sum = OpCounts()
                for _ in 0..<3_000 { table.drainDirty { _, d in sum += d } }
                return sum
            }
            var all = OpCounts()
            for await s in group { all += s }
            return all
        }
        var sum = total
        table.drainDirty { _, d in sum += d }
        expected.writes &+= UInt64(threads * perThread)
        expected.writeBytes &+= UInt64(threads * perThread) &* big
        #expect(sum == expected)
        #expect(table.carryCount >= threads * perThread / 4)
    }
}
