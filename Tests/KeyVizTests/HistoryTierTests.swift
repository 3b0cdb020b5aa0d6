import KeyViz
import KeyVizTestKit
import Testing

/// What a column holds, keyed by route: the comparison unit of the tier model.
private struct Cell: Equatable, CustomStringConvertible {
    var unixMs: Int64
    var counts: [Route: OpCounts]
    var unrouted: OpCounts

    init(_ c: MatrixColumn) {
        unixMs = c.unixMs
        counts = [:]
        for (r, n) in zip(c.routes, c.counts) { counts[r, default: .zero] += n }
        unrouted = c.unrouted
    }

    init(unixMs: Int64) {
        self.unixMs = unixMs
        counts = [:]
        unrouted = .zero
    }

    mutating func add(_ other: Cell) {
        for (r, n) in other.counts { counts[r, default: .zero] += n }
        unrouted += other.unrouted
    }

    var description: String { "@\(unixMs) \(counts.count) routes unrouted=\(unrouted)" }
}

private func windowEnd(_ t: Int64, _ step: Int64) -> Int64 {
    let q = t / step, r = t % step
    return (r > 0 ? q + 1 : q) * step
}

/// The tiers computed in one batch from every column ever flushed: the finest ring is the
/// newest `columns` of them; what is older is cut into the next tier's wall-clock windows (a
/// column whose window is not after the current one joins it), the newest window pending, the
/// newest `columns` complete windows kept, and so on.
private func model(_ flushed: [Cell], _ layout: [HistoryTier]) -> (tiers: [(ring: [Cell], pending: Cell?)], dropped: [Cell]) {
    var tiers: [(ring: [Cell], pending: Cell?)] = []
    var left = flushed
    for (i, t) in layout.enumerated() {
        var complete: [Cell]
        var pending: Cell?
        if i == 0 {
            complete = left
        } else {
            complete = []
            for c in left {
                let end = windowEnd(c.unixMs, t.stepMilliseconds)
                if pending == nil || end > pending!.unixMs {
                    if let p = pending { complete.append(p) }
                    pending = Cell(unixMs: end)
                }
                pending!.add(c)
            }
        }
        let keep = min(t.columns, complete.count)
        tiers.append((Array(complete.suffix(keep)), pending))
        left = Array(complete.prefix(complete.count - keep))
    }
    return (tiers, left)
}

@Suite struct HistoryTierTests {
    /// Columns refer to routes through one table; a route no column uses any more is forgotten,
    /// so a catalog that keeps splitting and merging does not grow the history's memory.
    @Test func routesThatLeaveEveryColumnAreForgottenSoChurnDoesNotGrowTheHistory() throws {
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: 1000, historyColumns: 4, stripes: 1,
                                                    coarserTiers: [HistoryTier(stepMilliseconds: 4000, columns: 2)])
        let s = HeatMatrixSampler(configuration: config)
        var catalog = RouteCatalog.evenlySplit(count: 4, groups: 1)
        s.apply(catalog)
        var now: Int64 = 1_700_000_000_000
        var most = 0
        for i in 0..<300 {
            // Split the first route and merge it back: two new ids and a new merged one each time.
            let first = catalog.routes[0]
            catalog = try catalog.splitting(first.id, at: Array("key/1".utf8) + [UInt8(1 + i % 200)])
            s.apply(catalog)
            for r in catalog.routes { s.observe(route: r.id, op: .read, keyLength: 1, valueLength: 1) }
            catalog = try catalog.merging(catalog.routes[0].id, catalog.routes[1].id)
            s.apply(catalog)
            for r in catalog.routes { s.observe(route: r.id, op: .write, keyLength: 1, valueLength: 1) }
            now += 1000
            s.flush(atUnixMs: now)
            let table = s.historyRouteTable
            #expect(table.consistent, "flush \(i)")
            most = max(most, table.routes)
        }
        // Each flush brings 3 new routes (two halves, one merged) beside 3 that stay. The history
        // holds 16 flushes (4 in the finest ring; 2 coarser columns and the pending one, of 4
        // flushes each), so at most 16 × 3 + 3 = 51 routes, where 300 flushes made over 900.
        #expect(most <= 16 * 3 + 3, "\(most) routes in the table")
    }

    /// Randomized against the batch model above: after every flush each tier's ring and pending
    /// column equal the model's, and every count flushed is in exactly one column of one tier or
    /// has left the last tier (per route, per counter, and unrouted).
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func everyCoarserColumnIsTheExactSumOfTheColumnsItReplaces(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let (base, tiers, columns) = randomTierLayout(&rng)
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: base, historyColumns: columns, stripes: 1, coarserTiers: tiers)
        #expect(config.tierProblems.isEmpty)
        let layout = config.effectiveTiers
        print("tier model seed \(seed): \(layout)")
        let s = HeatMatrixSampler(configuration: config)
        var catalog = RouteCatalog.evenlySplit(count: 6, groups: 2)
        s.apply(catalog)
        var flushed: [Cell] = []
        var now: Int64 = 1_700_000_000_000 + Int64(below(10_000))
        for step in 0..<400 {
            for _ in 0..<below(12) {
                let routes = catalog.routes
                let id = below(8) == 0 ? RouteID(999) : routes[below(routes.count)].id
                s.observe(route: id, op: below(2) == 0 ? .read : .write, keyLength: below(20), valueLength: below(100))
            }
            if below(40) == 0, catalog.routes.count < 20 {
                let r = catalog.routes[below(catalog.routes.count)]
                catalog = (try? catalog.splitting(r.id, at: r.start + [UInt8(below(200) + 1)])) ?? catalog
                s.apply(catalog)
            }
            // Mostly forward by about a step, sometimes a long gap, rarely the clock going back.
            let jump = below(50) == 0 ? Int64(below(40)) * base : below(60) == 0 ? -Int64(below(3)) * base : base + Int64(below(50)) - 25
            now += jump
            s.flush(atUnixMs: now)
            flushed.append(Cell(s.newestColumn()!))
            let saved = s.savedHistory()
            let want = model(flushed, layout)
            #expect(saved.tiers.count == layout.count)
            for (t, tier) in saved.tiers.enumerated() {
                let ring = tier.columns.map(Cell.init)
                let pending = tier.pending.map(Cell.init)
                if ring != want.tiers[t].ring || pending != want.tiers[t].pending {
                    Issue.record("seed \(seed), flush \(step): tier \(t) is \(ring) + \(pending.map(String.init(describing:)) ?? "-"), model \(want.tiers[t].ring) + \(want.tiers[t].pending.map(String.init(describing:)) ?? "-")")
                    return
                }
                if t > 0 {
                    for c in tier.columns + (tier.pending.map { [$0] } ?? []) {
                        #expect(c.unixMs % tier.stepMilliseconds == 0, "seed \(seed): tier \(t) column \(c.unixMs) not aligned")
                    }
                }
            }
            let table = s.historyRouteTable
            #expect(table.consistent, "seed \(seed), flush \(step): a route's use count is not its column entries")
            let distinct = Set(saved.tiers.flatMap { $0.columns + ($0.pending.map { [$0] } ?? []) }.flatMap(\.routes))
            #expect(table.routes == distinct.count, "seed \(seed), flush \(step): the table holds routes no column uses")
            let kept = saved.totals, dropped = s.droppedTotals, all = s.flushedTotals
            #expect(kept.routed + dropped.routed == all.routed, "seed \(seed), flush \(step): routed")
            #expect(kept.unrouted + dropped.unrouted == all.unrouted, "seed \(seed), flush \(step): unrouted")
            var modelDropped = Cell(unixMs: 0)
            for c in want.dropped { modelDropped.add(c) }
            #expect(modelDropped.counts.values.reduce(OpCounts(), +) == dropped.routed)
        }
        #expect(s.droppedTotals.routed.operations > 0 || layout.reduce(0) { $0 + $1.columns } > 40, "seed \(seed): the run reached the last tier")
    }

    /// Dense traffic (the same routes, in the same order, column after column) stores each
    /// route reference once per run of columns, not once per entry (16 bytes per entry instead
    /// of 20), and a snapshot over runs, a column that breaks a run and a run merged into rows
    /// gives each cell exactly what was observed in it.
    @Test func columnsOfDenseTrafficShareTheirReferencesAndKeepEveryCell() {
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: 1_000, historyColumns: 12, stripes: 1)
        let s = HeatMatrixSampler(configuration: config)
        let catalog = RouteCatalog.evenlySplit(count: 8, groups: 1)
        s.apply(catalog)
        let t0: Int64 = 1_700_000_000_000
        var want: [RouteID: [UInt64]] = [:]
        for i in 0..<12 {
            // Columns 0-4 and 6-11 touch every route; column 5 only every other one.
            for (k, r) in catalog.routes.enumerated() {
                let n = i == 5 && k % 2 == 1 ? 0 : UInt64(1 + (i * 3 + k) % 5)
                for _ in 0..<n { s.observe(route: r.id, op: .read, keyLength: 1, valueLength: 1) }
                want[r.id, default: []].append(n)
            }
            s.flush(atUnixMs: t0 + Int64(i + 1) * 1000)
        }
        let table = s.historyRouteTable
        #expect(table.consistent)
        #expect(table.entries == 11 * 8 + 4)
        // Counters 16 bytes per entry; references once per run: 0-4, 5 and 6-11.
        #expect(table.entryBytes == table.entries * 16 + (8 + 4 + 8) * 4, "\(table.entryBytes) bytes")
        let m = s.snapshot(series: .reads)
        #expect(m.rows.count == 8)
        for row in m.rows { #expect(row.values == want[row.routeIDs[0]], "\(row.rowID)") }
        let merged = s.snapshot(series: .reads, rows: 3)
        #expect(merged.rows.count == 3)
        for j in 0..<12 {
            #expect(merged.columnTotal(j) == want.values.reduce(0) { $0 + $1[j] }, "column \(j)")
        }
        for row in merged.rows {
            let members = catalog.routes.filter { r in row.start.lexicographicallyPrecedes(r.end) || r.end.isEmpty }
                .filter { r in !r.start.lexicographicallyPrecedes(row.start) && (row.end.isEmpty || r.start.lexicographicallyPrecedes(row.end)) }
            #expect(members.count == row.routeCount, "\(row.rowID)")
            #expect(row.values == (0..<12).map { j in members.reduce(0) { $0 + want[$1.id]![j] } }, "\(row.rowID)")
        }
    }

    /// The memory figure counts a run of columns sharing references once even when the run
    /// wraps the ring's end (storage order would start it twice).
    @Test func aRunOfSharedReferencesWrappingTheRingIsCountedOnce() {
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: 1_000, historyColumns: 8, stripes: 1)
        let s = HeatMatrixSampler(configuration: config)
        let catalog = RouteCatalog.evenlySplit(count: 8, groups: 1)
        s.apply(catalog)
        let t0: Int64 = 1_700_000_000_000
        for i in 0..<12 {
            // Column 6 touches every other route; every other column touches all 8. The ring
            // keeps columns 4-11, stored as 8 9 10 11 | 4 5 6 7: the run 7-11 wraps its end.
            for (k, r) in catalog.routes.enumerated() where i != 6 || k % 2 == 0 {
                s.observe(route: r.id, op: .write, keyLength: 2, valueLength: 3)
            }
            s.flush(atUnixMs: t0 + Int64(i + 1) * 1000)
        }
        let table = s.historyRouteTable
        #expect(table.consistent)
        #expect(table.entries == 7 * 8 + 4)
        // References once per run: 4-5, 6 and 7-11.
        #expect(table.entryBytes == table.entries * 16 + (8 + 4 + 8) * 4, "\(table.entryBytes) bytes")
        let m = s.snapshot(series: .writes)
        #expect(m.rows.map { $0.values.reduce(0, +) } == (0..<8).map { $0 % 2 == 0 ? 8 : 7 })
    }

    /// A matrix for a range older than the finest ring comes from the finest tier that still
    /// holds it, with that tier's step, and its columns are the exact sums of the flushes.
    @Test func aSnapshotOlderThanTheFinestRingIsServedFromACoarserTier() {
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: 1_000, historyColumns: 10, stripes: 1,
                                                    coarserTiers: [.init(stepMilliseconds: 5_000, columns: 4), .init(stepMilliseconds: 20_000, columns: 100)])
        let s = HeatMatrixSampler(configuration: config)
        s.apply(RouteCatalog.evenlySplit(count: 3, groups: 1))
        let t0: Int64 = 1_700_000_000_000
        var perSecond: [Int64: UInt64] = [:]
        for i in 1...100 {
            let n = i % 7 + 1
            for _ in 0..<n { s.observe(route: 2, op: .write, keyLength: 1, valueLength: 1) }
            perSecond[t0 + Int64(i) * 1000] = UInt64(n)
            s.flush(atUnixMs: t0 + Int64(i) * 1000)
        }
        func expected(_ step: Int64, _ end: Int64) -> UInt64 {
            perSecond.filter { $0.key > end - step && $0.key <= end }.values.reduce(0, +)
        }
        // Unbounded: the finest ring, as before tiers.
        let fine = s.snapshot(series: .writes)
        #expect(fine.stepMilliseconds == 1_000 && fine.columnUnixMs.count == 10)
        // The last 30 s: older than the finest ring (10 s), inside the 5 s tier (20 s + pending + finer).
        let mid = s.snapshot(series: .writes, fromUnixMs: t0 + 75_000)
        #expect(mid.stepMilliseconds == 5_000)
        #expect(mid.columnUnixMs.first == t0 + 75_000 && mid.columnUnixMs.last == t0 + 100_000)
        for (j, end) in mid.columnUnixMs.enumerated() { #expect(mid.columnTotal(j) == expected(5_000, end)) }
        // From the start: only the 20 s tier still holds it.
        let old = s.snapshot(series: .writes, fromUnixMs: t0)
        #expect(old.stepMilliseconds == 20_000)
        #expect(old.columnUnixMs == (1...5).map { t0 + Int64($0) * 20_000 })
        for (j, end) in old.columnUnixMs.enumerated() { #expect(old.columnTotal(j) == expected(20_000, end)) }
        #expect((0..<old.columnUnixMs.count).reduce(0) { $0 + old.columnTotal($1) } == perSecond.values.reduce(0, +))
        // A resolution asks for wider columns even where the finest ring would do.
        let wide = s.snapshot(series: .writes, fromUnixMs: t0 + 95_000, resolutionMs: 4_000)
        #expect(wide.stepMilliseconds == 5_000 && wide.columnUnixMs == [t0 + 95_000, t0 + 100_000])
    }

    /// Configuration validated where used: bad tiers are adjusted and named, never a crash,
    /// including values set after init.
    @Test func badTierSettingsAreAdjustedAndNamedNeverACrash() {
        var config = HeatMatrixSamplerConfiguration(stepMilliseconds: 1_000, historyColumns: 5)
        config.coarserTiers = [.init(stepMilliseconds: 1_500, columns: 3), .init(stepMilliseconds: 0, columns: 3),
                               .init(stepMilliseconds: 2_000, columns: 0), .init(stepMilliseconds: 60_000, columns: 1_000_000),
                               .init(stepMilliseconds: Int64.max, columns: 2)]
        #expect(config.effectiveTiers == [.init(stepMilliseconds: 1_000, columns: 5), .init(stepMilliseconds: 2_000, columns: 3),
                                          .init(stepMilliseconds: 4_000, columns: 1), .init(stepMilliseconds: 60_000, columns: 100_000),
                                          .init(stepMilliseconds: HeatMatrixSamplerConfiguration.maxTierStepMilliseconds / 60_000 * 60_000, columns: 2)])
        #expect(config.tierProblems.count == 5)
        config.coarserTiers = Array(repeating: .init(stepMilliseconds: 2, columns: 1), count: 20)
        #expect(config.effectiveTiers.count == 1 + HeatMatrixSamplerConfiguration.maxCoarserTiers)
        config.stepMilliseconds = -5
        let s = HeatMatrixSampler(configuration: config)
        s.apply(RouteCatalog.evenlySplit(count: 2, groups: 1))
        for i in 0..<100 {
            s.observe(route: 1, op: .read, keyLength: 1, valueLength: 1)
            s.flush(atUnixMs: Int64(i))
        }
        let kept = s.savedHistory().totals.routed, dropped = s.droppedTotals.routed
        #expect(kept + dropped == s.flushedTotals.routed)
        _ = s.snapshot(series: .reads, fromUnixMs: 0, resolutionMs: Int64.max)
        _ = s.snapshot(series: .reads, fromUnixMs: Int64.max, resolutionMs: -1)
    }

    /// A restored history equals the saved one under the same tiers; under other tiers it keeps
    /// every count and the newest column.
    @Test func aRestoredHistoryKeepsEveryCountAndIsRecutToOtherTiers() {
        let tiers: [HistoryTier] = [.init(stepMilliseconds: 4_000, columns: 5), .init(stepMilliseconds: 16_000, columns: 50)]
        let a = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 8, stripes: 1, coarserTiers: tiers))
        let catalog = RouteCatalog.evenlySplit(count: 4, groups: 1)
        a.apply(catalog)
        for i in 1...90 {
            for r in catalog.routes where Int(r.id.rawValue) <= i % 5 { a.observe(route: r.id, op: .write, keyLength: 2, valueLength: 3) }
            a.flush(atUnixMs: 1_700_000_000_000 + Int64(i) * 1_000)
        }
        let saved = a.savedHistory()
        let same = HeatMatrixSampler(configuration: a.configuration)
        #expect(same.restore(saved))
        #expect(same.savedHistory() == saved)
        #expect(same.snapshot(series: .writes) == a.snapshot(series: .writes))
        // Older ranges too: the restored finest ring never evicted, yet the coarser tiers hold
        // what is older, so a range from the start comes from them, as on the original.
        for from in [1_700_000_000_000 as Int64, 1_700_000_050_000, 1_700_000_085_000] {
            let want = a.snapshot(series: .writes, fromUnixMs: from), got = same.snapshot(series: .writes, fromUnixMs: from)
            #expect(got == want && got.stepMilliseconds == want.stepMilliseconds, "from \(from): step \(got.stepMilliseconds) vs \(want.stepMilliseconds)")
        }
        #expect(!same.restore(saved), "only into an empty history")

        let other = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 3, stripes: 1,
                                                           coarserTiers: [.init(stepMilliseconds: 8_000, columns: 100)]))
        #expect(other.restore(saved))
        let restored = other.savedHistory()
        #expect(restored.totals.routed == saved.totals.routed)
        #expect(restored.newestUnixMs == saved.newestUnixMs)
        #expect(restored.tiers[1].columns.allSatisfy { $0.unixMs % 8_000 == 0 })
    }

    /// After a restart route ids start again, so a restored history can use an id for another
    /// key range: coarse sums and the matrix keep the two routes apart.
    @Test func twoRoutesSharingAnIdAcrossARestartAreSummedApart() {
        let old = Route(id: 7, start: Array("a".utf8), end: Array("m".utf8), group: 1)
        let new = Route(id: 7, start: Array("m".utf8), end: [], group: 1)
        let t0: Int64 = 1_700_000_000_000
        let saved = MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: [
            MatrixColumn(unixMs: t0 + 1_000, routes: [old], counts: [OpCounts(writes: 3)], unrouted: .zero),
            MatrixColumn(unixMs: t0 + 2_000, routes: [new, old], counts: [OpCounts(writes: 5), OpCounts(writes: 1)], unrouted: .zero),
            MatrixColumn(unixMs: t0 + 3_000, routes: [new], counts: [OpCounts(writes: 2)], unrouted: .zero),
        ])])
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 1, stripes: 1,
                                                       coarserTiers: [.init(stepMilliseconds: 10_000, columns: 5)]))
        #expect(s.restore(saved))
        let pending = s.savedHistory().tiers[1].pending
        var sums: [Route: UInt64] = [:]
        for (r, n) in zip(pending?.routes ?? [], pending?.counts ?? []) { sums[r, default: 0] += n.writes }
        #expect(sums == [old: 4, new: 5])
        let m = s.snapshot(series: .writes, fromUnixMs: t0)
        #expect(m.stepMilliseconds == 10_000)
        #expect(m.rows.map { $0.start } == [old.start, new.start] && m.rows.map(\.total) == [4, 7])
    }
}
