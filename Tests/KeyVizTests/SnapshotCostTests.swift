import KeyViz
import KeyVizTestKit
import Testing

@Suite struct SnapshotCostTests {
    /// Issue 11 item 6: the snapshot built a full row per catalog route per column before
    /// merging (100 000 routes × 1 440 columns: 1.2 GB and 4 s per request). It now decides
    /// the merge on per-route totals and gives values only to the rows it returns; the result
    /// is the same merge, with every column's total kept.
    @Test func aSnapshotOfManyRoutesSizesOnlyItsOutputRows() {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 1_440, stripes: 1, now: clock.function))
        let c = RouteCatalog.evenlySplit(count: 100_000, groups: 4)
        s.apply(c)
        var rng = SplitMix64(seed: 11)
        var perColumn: [UInt64] = []
        for _ in 0..<60 {
            var n: UInt64 = 0
            for _ in 0..<50 {
                let r = c.routes[Int(rng.next() % UInt64(c.routes.count))]
                s.observe(route: r.id, op: .write, keyLength: 1, valueLength: 1)
                n += 1
            }
            perColumn.append(n)
            s.flush()
            clock.advance(1_000)
        }
        for budget in [1, 64, 1024] {
            let m = s.snapshot(series: .writes, rows: budget)
            #expect(m.rows.count == budget)
            #expect(m.rows.allSatisfy { $0.values.count == 60 })
            #expect((0..<60).map { m.columnTotal($0) } == perColumn)
            #expect(m.rows.reduce(0) { $0 + $1.routeCount } == 100_000)
            for (a, b) in zip(m.rows, m.rows.dropFirst()) { #expect(a.end == b.start) }
        }
    }

    /// Item 7 for the heat matrix: properties set after init are clamped where used.
    @Test func memSamplerConfigurationSetAfterInitIsClampedWhereUsed() {
        var cfg = HeatMatrixSamplerConfiguration()
        cfg.historyColumns = -3
        cfg.stepMilliseconds = -10
        cfg.graceMilliseconds = -1
        cfg.stripes = 0
        let s = HeatMatrixSampler(configuration: cfg)
        s.apply(RouteCatalog.evenlySplit(count: 3, groups: 1))
        s.observe(route: 1, op: .read, keyLength: 1, valueLength: 0)
        s.flush()
        s.flush()
        #expect(s.columnCount == 1)
        #expect(s.snapshot(series: .reads, rows: -5).rows.count == 1)
        #expect(s.flushedTotals.routed.reads == 1)
    }
}
