import KeyViz
import KeyVizTestKit
import Testing

/// The snapshot against a model computed from the saved history alone: for random tier layouts,
/// traffic, splits and merges, restores (with an id reused for another range) and random
/// queries (series, time range, resolution, row budget), every cell is the sum of the saved
/// columns that fall in it, route by route. Pins the route table and the column-wise sums
/// of the snapshot to what the history holds.
@Suite struct SnapshotModelTests {
    private struct Key: Hashable { var id: RouteID; var start: [UInt8]; var end: [UInt8] }

    /// The model's matrix: the view of step `step` (tier `v` of `saved`), its columns in
    /// [from, to), per route and column the sum of `series`.
    private func model(_ saved: MatrixHistory, view v: Int, series: Series, from: Int64?, to: Int64?)
        -> (stamps: [Int64], cells: [Key: [Int64: UInt64]], unrouted: [Int64: UInt64]) {
        let step = saved.tiers[v].stepMilliseconds
        var sources: [MatrixColumn] = []
        for t in stride(from: saved.tiers.count - 1, through: 0, by: -1) where t <= v {
            sources += saved.tiers[t].columns
            if let p = saved.tiers[t].pending { sources.append(p) }
        }
        func keep(_ t: Int64) -> Bool { (from.map { t >= $0 } ?? true) && (to.map { t < $0 } ?? true) }
        var cells: [Key: [Int64: UInt64]] = [:], unrouted: [Int64: UInt64] = [:], stamps = Set<Int64>()
        for c in sources {
            let end = v == 0 ? c.unixMs : {
                let q = c.unixMs / step, r = c.unixMs % step
                return (r > 0 ? q + 1 : q) * step
            }()
            guard keep(end) else { continue }
            stamps.insert(end)
            unrouted[end, default: 0] &+= c.unrouted[series]
            for (r, n) in zip(c.routes, c.counts) {
                cells[Key(id: r.id, start: r.start, end: r.end), default: [:]][end, default: 0] &+= n[series]
            }
        }
        return (stamps.sorted(), cells, unrouted)
    }

    @Test(arguments: [11, 12, 13, 14, 15, 16] as [UInt64])
    func everyCellIsTheSumOfTheSavedColumnsItCovers(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let (base, tiers, columns) = randomTierLayout(&rng)
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: base, historyColumns: columns, stripes: 2, coarserTiers: tiers)
        var s = HeatMatrixSampler(configuration: config)
        var catalog = RouteCatalog.evenlySplit(count: 5, groups: 2)
        s.apply(catalog)
        var now: Int64 = 1_700_000_000_000
        for flush in 0..<300 {
            if below(3) == 0 {
                // Dense: every route once, in the same order as the last dense flush, so
                // adjacent columns share their references (the snapshot's run path).
                for r in catalog.routes { s.observe(route: r.id, op: .read, keyLength: 1 + below(4), valueLength: below(10)) }
            }
            for _ in 0..<below(15) {
                let routes = catalog.routes
                let id = below(10) == 0 ? RouteID(999) : routes[below(routes.count)].id
                s.observe(route: id, op: below(2) == 0 ? .read : .write, keyLength: below(20), valueLength: below(100))
            }
            if below(20) == 0, catalog.routes.count < 16 {
                let r = catalog.routes[below(catalog.routes.count)]
                catalog = (try? catalog.splitting(r.id, at: r.start + [UInt8(below(200) + 1)])) ?? catalog
                s.apply(catalog)
            } else if below(25) == 0, catalog.routes.count > 2 {
                let i = below(catalog.routes.count - 1)
                catalog = (try? catalog.merging(catalog.routes[i].id, catalog.routes[i + 1].id)) ?? catalog
                s.apply(catalog)
            }
            now += base + Int64(below(40)) - 20 + (below(40) == 0 ? Int64(below(20)) * base : 0)
            s.flush(atUnixMs: now)
            if below(60) == 0 {
                // A restart: the saved history into a fresh sampler, whose catalog reuses the
                // ids from 1 for other ranges.
                let saved = s.savedHistory()
                s = HeatMatrixSampler(configuration: config)
                #expect(s.restore(saved))
                catalog = RouteCatalog.evenlySplit(count: 3 + below(4), groups: 2, prefix: "k\(flush)/")
                s.apply(catalog)
            }
            let table = s.historyRouteTable
            #expect(table.consistent, "seed \(seed), flush \(flush): the route table's use counts")
            guard below(3) == 0 else { continue }
            let series = Series.allCases[below(4)]
            let from: Int64? = below(2) == 0 ? nil : now - Int64(below(60)) * base
            let to: Int64? = below(3) == 0 ? now - Int64(below(10)) * base : nil
            let resolution: Int64? = below(2) == 0 ? nil : Int64(below(4)) * tiers[below(tiers.count)].stepMilliseconds
            let m = s.snapshot(series: series, fromUnixMs: from, toUnixMs: to, resolutionMs: resolution)
            let saved = s.savedHistory()
            guard let v = saved.tiers.firstIndex(where: { $0.stepMilliseconds == m.stepMilliseconds }) else {
                Issue.record("seed \(seed), flush \(flush): step \(m.stepMilliseconds) is no tier's"); return
            }
            let want = model(saved, view: v, series: series, from: from, to: to)
            #expect(m.columnUnixMs == want.stamps, "seed \(seed), flush \(flush): columns")
            guard m.columnUnixMs == want.stamps else { return }
            #expect(m.unrouted == want.stamps.map { want.unrouted[$0] ?? 0 }, "seed \(seed), flush \(flush): unrouted")
            var seen = Set<Key>()
            for row in m.rows {
                #expect(!row.aggregate && row.routeIDs.count == 1, "seed \(seed), flush \(flush): fewer routes than the budget, no merging")
                let key = Key(id: row.routeIDs[0], start: row.start, end: row.end)
                seen.insert(key)
                let expected = want.stamps.map { want.cells[key]?[$0] ?? 0 }
                #expect(row.values == expected, "seed \(seed), flush \(flush): \(row.rowID) \(row.values) want \(expected)")
            }
            #expect(Set(want.cells.keys).isSubset(of: seen), "seed \(seed), flush \(flush): a route with traffic has no row")
            // Merged down to 2 rows, every column keeps its total.
            let merged = s.snapshot(series: series, fromUnixMs: from, toUnixMs: to, rows: 2, resolutionMs: resolution)
            for j in 0..<merged.columnUnixMs.count {
                #expect(merged.columnTotal(j) == m.columnTotal(j), "seed \(seed), flush \(flush): merged column \(j)")
            }
        }
    }
}
