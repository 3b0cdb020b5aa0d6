import KeyViz
import KeyVizTestKit
import Synchronization
import Testing

private func matrixTotal(_ m: HeatMatrix) -> UInt64 {
    m.rows.reduce(0) { $0 &+ $1.total } &+ m.unrouted.reduce(0, &+)
}

@Suite struct HeatMatrixSamplerTests {
    @Test func observationsLandInTheirRouteRowAfterAFlush() throws {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let catalog = RouteCatalog.evenlySplit(count: 4, groups: 1)
        s.apply(catalog)
        s.observe(route: 2, op: .write, keyLength: 10, valueLength: 90)
        s.observe(route: 2, op: .read, keyLength: 10, valueLength: 0)
        s.observe(route: 3, op: .read, keyLength: 5, valueLength: 7)
        s.flush()
        let writes = s.snapshot(series: .writes)
        #expect(writes.columnUnixMs == [clock.now])
        #expect(writes.rows.map(\.rowID) == ["route:1", "route:2", "route:3", "route:4"])
        #expect(writes.rows.map { $0.values[0] } == [0, 1, 0, 0])
        #expect(s.snapshot(series: .writeBytes).rows[1].values == [100])
        #expect(s.snapshot(series: .reads).rows.map { $0.values[0] } == [0, 1, 1, 0])
        #expect(s.snapshot(series: .readBytes).rows.map { $0.values[0] } == [0, 10, 12, 0])
    }

    @Test func negativeLengthsCountAsZeroBytes() {
        let s = HeatMatrixSampler()
        s.apply(RouteCatalog.evenlySplit(count: 1, groups: 1))
        s.observe(route: 1, op: .write, keyLength: -5, valueLength: 3)
        s.observe(route: 1, op: .write, keyLength: 4, valueLength: -9)
        s.flush()
        #expect(s.flushedTotals.routed == OpCounts(writes: 2, writeBytes: 7))
    }

    @Test func unknownRouteIDsAreCountedAsUnroutedNeverDropped() {
        let s = HeatMatrixSampler()
        s.apply(RouteCatalog.evenlySplit(count: 2, groups: 1))
        s.observe(route: 99, op: .read, keyLength: 3, valueLength: 0)
        s.observe(route: .unrouted, op: .write, keyLength: 1, valueLength: 1)
        s.observe(route: RouteID(RouteID.limit.rawValue + 5), op: .write, keyLength: 1, valueLength: 0)
        s.observe(route: 0, op: .read, keyLength: 1, valueLength: 0)
        s.flush()
        #expect(s.flushedTotals.unrouted == OpCounts(reads: 2, writes: 2, readBytes: 4, writeBytes: 3))
        #expect(s.flushedTotals.routed == .zero)
        #expect(s.snapshot(series: .reads).unrouted == [2])
    }

    @Test func anObservationAfterAFlushLandsInTheNextColumn() {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        s.apply(RouteCatalog.evenlySplit(count: 1, groups: 1))
        s.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
        s.flush()
        clock.advance(1000)
        s.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
        s.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
        s.flush()
        #expect(s.snapshot(series: .writes).rows[0].values == [1, 2])
    }

    @Test func aRemovedRouteKeepsCountingThroughItsGraceWindowThenCountsAsUnrouted() throws {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, graceMilliseconds: 5000, now: clock.function))
        let c1 = RouteCatalog.evenlySplit(count: 2, groups: 1)
        s.apply(c1)
        let c2 = try c1.merging(1, 2)
        s.apply(c2)
        // A thread that resolved route 1 before the merge observes after it.
        s.observe(route: 1, op: .write, keyLength: 1, valueLength: 0)
        s.observe(route: 3, op: .write, keyLength: 1, valueLength: 0)
        s.flush()
        let m = s.snapshot(series: .writes)
        #expect(m.rows.first { $0.rowID == "route:1" }?.values == [1])
        #expect(m.rows.first { $0.rowID == "route:3" }?.values == [1])
        clock.advance(5000)
        s.flush()   // grace over: route 1 is unmapped
        s.observe(route: 1, op: .write, keyLength: 1, valueLength: 0)
        s.flush()
        #expect(s.flushedTotals.unrouted.writes == 1)
        #expect(s.flushedTotals.routed.writes == 2)
    }

    @Test func theRingKeepsTheNewestColumnsOnly() {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, historyColumns: 3, now: clock.function))
        s.apply(RouteCatalog.evenlySplit(count: 1, groups: 1))
        for i in 1...5 {
            for _ in 0..<i { s.observe(route: 1, op: .read, keyLength: 1, valueLength: 0) }
            s.flush()
            clock.advance(1000)
        }
        let m = s.snapshot(series: .reads)
        #expect(m.rows[0].values == [3, 4, 5])
        #expect(m.columnUnixMs == m.columnUnixMs.sorted())
        #expect(s.flushedTotals.routed.reads == 15)
    }

    @Test func snapshotSelectsColumnsInAHalfOpenTimeRange() {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        s.apply(RouteCatalog.evenlySplit(count: 1, groups: 1))
        let t0 = clock.now
        for _ in 0..<4 { s.flush(); clock.advance(1000) }
        let m = s.snapshot(series: .reads, fromUnixMs: t0 + 1000, toUnixMs: t0 + 3000)
        #expect(m.columnUnixMs == [t0 + 1000, t0 + 2000])
    }

    @Test func historyColumnsAreClamped() {
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1, historyColumns: 0))
        s.apply(RouteCatalog.evenlySplit(count: 1, groups: 1))
        s.flush(); s.flush()
        #expect(s.columnCount == 1)
    }

    /// 2 threads x 1 000 000 random observations while 1 000 splits/merges happen and a third
    /// thread flushes every millisecond: every count is found again, per series.
    @Test func everyObservationIsConservedAcrossChurnAndFlushes() async throws {
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1, historyColumns: 100_000, graceMilliseconds: 2))
        let initial = RouteCatalog.evenlySplit(count: 64, groups: 4)
        s.apply(initial)
        let published = Mutex(initial)
        let observersDone = Atomic<Int>(0)
        let expected = Mutex(OpCounts())
        let perThread = 1_000_000
        let churnEvents = Atomic<Int>(0)

        let observer: @Sendable (UInt64) -> Void = { seed in
            var rng = SplitMix64(seed: seed)
            var local = OpCounts()
            var ids = published.withLock { $0.routes.map(\.id) }
            for i in 0..<perThread {
                if i % 512 == 0 { ids = published.withLock { $0.routes.map(\.id) } }
                let x = rng.next()
                // 1 in 64 observations uses an id that no catalog holds.
                let route: RouteID = x & 63 == 0 ? RouteID(1_000_000 + (x >> 40) % 1000) : ids[Int((x >> 8) % UInt64(ids.count))]
                let op: Op = (x >> 20) & 1 == 0 ? .read : .write
                let keyLength = Int((x >> 24) % 40)
                let valueLength = op == .write ? Int((x >> 32) % 300) : 0
                s.observe(route: route, op: op, keyLength: keyLength, valueLength: valueLength)
                local.record(op: op, bytes: UInt64(keyLength + valueLength))
            }
            expected.withLock { $0 += local }
            observersDone.wrappingAdd(1, ordering: .relaxed)
        }
        let churn: @Sendable () -> Void = {
            var rng = SplitMix64(seed: 99)
            var c = initial
            for _ in 0..<1000 {
                let x = rng.next()
                let next: RouteCatalog
                if (x & 1 == 0 && c.routes.count < 256) || c.routes.count < 16 {
                    let key = Array("key/\(String(format8(Int((x >> 8) % 100_000_000))))".utf8)
                    guard let r = c.route(forKey: key), r.start != key else { continue }
                    next = try! c.splitting(r.id, at: key)
                } else {
                    let i = Int((x >> 8) % UInt64(c.routes.count - 1))
                    next = try! c.merging(c.routes[i].id, c.routes[i + 1].id)
                }
                s.apply(next)                       // samplers first ...
                published.withLock { $0 = next }    // ... then the ids go live
                c = next
                churnEvents.wrappingAdd(1, ordering: .relaxed)
            }
        }
        let flusher: @Sendable () -> Void = {
            while observersDone.load(ordering: .relaxed) < 2 {
                s.flush()
                usleepMilliseconds(1)
            }
        }
        await ConcurrentRunner.run([{ observer(1) }, { observer(2) }, churn, flusher])
        s.flush()
        #expect(churnEvents.load(ordering: .relaxed) == 1000)
        let want = expected.withLock { $0 }
        #expect(want.operations == UInt64(2 * perThread))
        for series in Series.allCases {
            let m = s.snapshot(series: series, rows: 1024)
            #expect(matrixTotal(m) == want[series], "series \(series)")
            #expect(m.rows.count <= 1024)
        }
        #expect(s.flushedTotals.routed + s.flushedTotals.unrouted == want)
        #expect(s.flushedTotals.unrouted.operations > 0)
    }
}

func format8(_ v: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
