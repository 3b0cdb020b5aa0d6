@testable import KeyViz
import Foundation
import Synchronization
import Testing

/// A drain reads only the stripes threads have been given (stripe numbers are handed out in
/// order, and a thread adds only to its own), so a host with fewer observing threads than
/// stripes drains fewer lines per slot. A thread that gets its stripe while drains run must
/// still have every count drained: its stripe is handed out before its first add, and a drain
/// reads the count of handed-out stripes after clearing the dirty bits.
@Suite struct StripesInUseTests {
    /// Starts `count` threads of their own (each gets a stripe number never handed out before)
    /// running `body(index)`; returns a flag that turns true when all have finished.
    private static func startThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> @Sendable () -> Bool {
        let box = FinishedBox()
        for t in 0..<count {
            Thread.detachNewThread {
                body(t)
                box.finished.add(1, ordering: .sequentiallyConsistent)
            }
        }
        return { box.finished.load(ordering: .sequentiallyConsistent) == count }
    }

    private final class FinishedBox: Sendable {
        let finished = Atomic<Int>(0)
    }

    @Test func threadsGivenStripesWhileDrainsRunHaveEveryCountDrained() {
        let stripes = 64
        let table = RouteCounterTable(stripes: stripes)
        let routes = 40
        for r in 1...routes { table.map(route: RouteID(UInt64(r)), to: table.allocateSlot()!) }
        let assignedBefore = ThreadStripe.assigned
        let threads = 6, perThread = 30_000
        var drained = [UInt64](repeating: 0, count: routes + 1)
        func drain() { table.drainDirty { slot, d in drained[slot] &+= d.writes } }
        drain()
        let storage = table.storage
        let done = Self.startThreads(threads) { t in
            for i in 0..<perThread {
                storage.record(route: RouteID(UInt64((i &* 7 &+ t) % routes + 1)), op: .write, bytes: 1)
            }
        }
        // Drains race with the threads' first adds (and so with their stripes being handed out).
        while !done() { drain() }
        drain()
        #expect(ThreadStripe.assigned >= assignedBefore + threads)
        var want = [UInt64](repeating: 0, count: routes + 1)
        for t in 0..<threads { for i in 0..<perThread { want[(i &* 7 &+ t) % routes + 1] += 1 } }
        // Slot r holds route r (slots were handed out in order, after the unrouted slot 0).
        #expect(drained == want, "stripes handed out before: \(assignedBefore), stripes: \(stripes)")
    }

    @Test func aPreloadedStripeBeyondThoseHandedOutIsDrained() {
        let table = RouteCounterTable(stripes: 64)
        let slot = table.allocateSlot()!
        table.map(route: RouteID(1), to: slot)
        // The highest stripe: beyond every stripe handed out unless 64 threads observed already.
        table.preload(slot: slot, stripe: 63, op: .read, operations: 5, bytes: 70)
        var got = OpCounts()
        table.drainDirty { _, d in got += d }
        #expect(got == OpCounts(reads: 5, readBytes: 70))
    }
}
