import KeyViz
import KeyVizTestKit
import Testing

@Suite struct HeatMatrixMergeTests {
    /// A sampler with `routes` routes and per-route traffic given by `weight`, over 3 columns.
    private func sampler(routes: Int, weight: (Int) -> Int) -> HeatMatrixSampler {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let c = RouteCatalog.evenlySplit(count: routes, groups: 2)
        s.apply(c)
        for column in 0..<3 {
            for (i, r) in c.routes.enumerated() {
                for _ in 0..<(weight(i) * (column + 1)) {
                    s.observe(route: r.id, op: .write, keyLength: 8, valueLength: 8)
                }
            }
            s.flush()
            clock.advance(1000)
        }
        return s
    }

    @Test func mergingToABudgetKeepsEveryColumnTotalAndKeyOrder() {
        let s = sampler(routes: 300) { i in 1 + (i * 7919) % 13 }
        let full = s.snapshot(series: .writes, rows: 1024)
        #expect(full.rows.count == 300)
        for budget in [1, 2, 7, 64, 299, 300] {
            let m = s.snapshot(series: .writes, rows: budget)
            #expect(m.rows.count <= budget)
            #expect(m.rows.count == min(budget, 300))
            for j in 0..<3 { #expect(m.columnTotal(j) == full.columnTotal(j)) }
            // Key order: each row starts where the previous one ended.
            for (a, b) in zip(m.rows, m.rows.dropFirst()) {
                #expect(a.start.lexicographicallyPrecedes(b.start))
                #expect(a.end == b.start)
            }
            #expect(m.rows.reduce(0) { $0 + $1.routeCount } == 300)
        }
    }

    @Test func aRouteWithAHundredTimesItsNeighboursTrafficKeepsItsOwnRow() {
        let s = sampler(routes: 2000) { i in i == 1234 ? 100 : 1 }
        let m = s.snapshot(series: .writes, rows: 64)
        #expect(m.rows.count == 64)
        let hot = m.rows.filter { $0.routeIDs.contains(1235) }
        #expect(hot.count == 1)
        #expect(hot.first?.aggregate == false)
        #expect(hot.first?.rowID == "route:1235")
    }

    @Test func aggregateRowsListAtMost256MemberIDsAndSayTheyAreTruncated() {
        let s = sampler(routes: 600) { _ in 1 }
        let m = s.snapshot(series: .writes, rows: 1)
        #expect(m.rows.count == 1)
        #expect(m.rows[0].aggregate)
        #expect(m.rows[0].routeCount == 600)
        #expect(m.rows[0].routeIDs.count == 256)
        #expect(m.rows[0].routeIDsTruncated)
        #expect(m.rows[0].start.isEmpty && m.rows[0].end.isEmpty)
    }

    @Test func rowBudgetIsClampedToOneThroughTenTwentyFour() {
        let s = sampler(routes: 1100) { _ in 1 }
        #expect(s.snapshot(series: .writes, rows: 0).rows.count == 1)
        #expect(s.snapshot(series: .writes, rows: 5000).rows.count == 1024)
    }
}
