import KeyViz
import KeyVizTestKit
import Testing

/// `HeatMatrixSampler.snapshot(keys:)`: what the heatmap page's key zoom asks for.
@Suite struct SnapshotKeyRangeTests {
    private func sampler(routes: Int) -> (HeatMatrixSampler, RouteCatalog) {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let catalog = RouteCatalog.evenlySplit(count: routes, groups: 1)
        s.apply(catalog)
        for r in catalog.routes { for _ in 0..<Int(r.id.rawValue) { s.observe(route: r.id, op: .write, keyLength: 1, valueLength: 1) } }
        s.flush()
        return (s, catalog)
    }

    @Test func keepsExactlyTheRoutesOverlappingTheRange() {
        let (s, c) = sampler(routes: 10)
        let r = c.routes
        // From the middle of route 3 to the start of route 6: routes 3, 4, 5 overlap; 6 does not.
        let m = s.snapshot(series: .writes, keys: (start: r[2].start + [UInt8(ascii: "5")], end: r[5].start))
        #expect(m.rows.map(\.rowID) == ["route:3", "route:4", "route:5"])
        #expect(m.rows.map { $0.values[0] } == [3, 4, 5])
    }

    @Test func anEmptyEndMeansToTheEndOfTheKeySpace() {
        let (s, c) = sampler(routes: 10)
        let m = s.snapshot(series: .writes, keys: (start: c.routes[8].start, end: []))
        #expect(m.rows.map(\.rowID) == ["route:9", "route:10"])
    }

    @Test func theRangeGetsTheWholeRowBudgetBeforeMerging() {
        let (s, c) = sampler(routes: 100)
        let r = c.routes
        // Unfiltered, 4 rows can only be aggregates; filtered to 4 routes, each keeps its row.
        #expect(s.snapshot(series: .writes, rows: 4).rows.allSatisfy { $0.aggregate })
        let m = s.snapshot(series: .writes, rows: 4, keys: (start: r[40].start, end: r[44].start))
        #expect(m.rows.map(\.routeIDs) == [[41], [42], [43], [44]])
        #expect(!m.rows.contains { $0.aggregate })
        // Merged down to one row, the aggregate is the exact sum of the range, nothing else.
        let one = s.snapshot(series: .writes, rows: 1, keys: (start: r[40].start, end: r[44].start))
        #expect(one.rows.count == 1 && one.rows[0].routeIDs == [41, 42, 43, 44] && one.rows[0].values == [41 + 42 + 43 + 44])
    }
}
