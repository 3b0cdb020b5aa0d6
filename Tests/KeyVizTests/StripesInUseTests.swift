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

    /// Each new thread adds once, to a route of its own, while this thread drains without
    /// pause: a drain that read the count of stripes before clearing the dirty bits could take
    /// a thread's bit and skip its stripe, and with no later add to set the bit again that count
    /// would never be drained. (The stripes below those handed out before the test are read by
    /// every drain, so the test bites only while fewer than 64 stripe numbers were handed out
    /// in the process, as when this suite runs alone; the totals are checked either way.)
    @Test func threadsGivenStripesWhileDrainsRunHaveEveryCountDrained() {
        let table = RouteCounterTable(stripes: 64)
        let threads = 48
        for r in 1...threads { table.map(route: RouteID(UInt64(r)), to: table.allocateSlot()!) }
        var drained = [UInt64](repeating: 0, count: threads + 1)
        func drain() { table.drainDirty { slot, d in drained[slot] &+= d.writes } }
        let storage = table.storage
        let done = Self.startThreads(threads) { t in
            storage.record(route: RouteID(UInt64(t + 1)), op: .write, bytes: 1)
        }
        while !done() { drain() }
        drain()
        // Slot r holds route r (slots were handed out in order, after the unrouted slot 0).
        #expect(drained == [0] + [UInt64](repeating: 1, count: threads))
    }

    /// Many adds per thread from threads started while drains run: the sums are exact.
    @Test func threadsStartedWhileDrainsRunHaveExactSums() {
        let table = RouteCounterTable(stripes: 64)
        let routes = 40
        for r in 1...routes { table.map(route: RouteID(UInt64(r)), to: table.allocateSlot()!) }
        let threads = 6, perThread = 30_000
        var drained = [UInt64](repeating: 0, count: routes + 1)
        func drain() { table.drainDirty { slot, d in drained[slot] &+= d.writes } }
        let storage = table.storage
        let done = Self.startThreads(threads) { t in
            for i in 0..<perThread {
                storage.record(route: RouteID(UInt64((i &* 7 &+ t) % routes + 1)), op: .write, bytes: 1)
            }
        }
        while !done() { drain() }
        drain()
        var want = [UInt64](repeating: 0, count: routes + 1)
        for t in 0..<threads { for i in 0..<perThread { want[(i &* 7 &+ t) % routes + 1] += 1 } }
        #expect(drained == want)
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
