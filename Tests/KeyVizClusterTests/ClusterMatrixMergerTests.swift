import KeyViz
import KeyVizCluster
import Testing
import Foundation

private func k(_ s: String) -> [UInt8] { Array(s.utf8) }

private func slot(_ t: Int64, _ step: Int64) -> Int64 { (t + step - 1) / step * step }

@Suite struct ClusterMatrixMergerTests {
    @Test func identicalRangesSumAndColumnsAlignOnTheStepGrid() {
        let a = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [10_200, 11_200], unrouted: [1, 0],
                           rows: [.init(start: [], end: k("m"), routeCount: 1, values: [5, 6]),
                                  .init(start: k("m"), end: [], routeCount: 1, values: [7, 8])])
        let b = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [10_900, 11_900, 12_900], unrouted: [0, 2, 0],
                           rows: [.init(start: [], end: k("m"), routeCount: 1, values: [1, 2, 3]),
                                  .init(start: k("m"), end: [], routeCount: 1, values: [10, 20, 30])])
        let out = ClusterMatrixMerger.merge([("a", a), ("b", b)], series: .writes, stepMs: 1000, rows: 1024)
        let m = out.matrix
        #expect(m.columnUnixMs == [11_000, 12_000, 13_000])
        #expect(m.rows.map(\.rowID) == ["range:0", "range:1"])
        #expect(m.rows.map(\.values) == [[6, 8, 3], [17, 28, 30]])
        #expect(m.rows.map(\.start) == [[], k("m")] && m.rows.map(\.end) == [k("m"), []])
        #expect(m.rows.map(\.routeCount) == [2, 2])
        #expect(m.unrouted == [1, 2, 0])
    }

    @Test func aPeerColumnStampedAtTheEndOfTimeIsKeptNotATrap() {
        // A peer's stamps are input: rounding one up to the step grid must not overflow.
        let odd = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [Int64.max - 1, Int64.min + 1], unrouted: [0, 0],
                             rows: [.init(start: [], end: [], routeCount: 1, values: [4, 5])])
        let m = ClusterMatrixMerger.merge([("odd", odd)], series: .writes, stepMs: 1000, rows: 1024).matrix
        #expect(m.columnUnixMs.count == 2)
        #expect(m.rows.map(\.values) == [[5, 4]])
    }

    @Test func overlappingRangesCombineIntoOneRowCoveringTheirUnion() {
        // Node a split [c, t) at m; node b did not: the three rows overlap and become one row [c, t).
        let a = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [1000], unrouted: [0],
                           rows: [.init(start: [], end: k("c"), routeCount: 1, values: [1]),
                                  .init(start: k("c"), end: k("m"), routeCount: 1, values: [2]),
                                  .init(start: k("m"), end: k("t"), routeCount: 1, values: [3]),
                                  .init(start: k("t"), end: [], routeCount: 1, values: [4])])
        let b = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [1000], unrouted: [0],
                           rows: [.init(start: k("c"), end: k("t"), routeCount: 1, values: [10])])
        let m = ClusterMatrixMerger.merge([("a", a), ("b", b)], series: .writes, stepMs: 1000, rows: 1024).matrix
        #expect(m.rows.map(\.start) == [[], k("c"), k("t")])
        #expect(m.rows.map(\.end) == [k("c"), k("t"), []])
        #expect(m.rows.map(\.values) == [[1], [15], [4]])
        #expect(m.rows.map(\.aggregate) == [false, true, false])
    }

    @Test func eventsOfEveryNodeAreConcatenatedOldestFirstAndNamed() {
        let r = Route(id: 1, start: [], end: [], group: 0)
        func e(_ t: Int64) -> RouteChangeEvent { RouteChangeEvent(kind: .split, unixMs: t, catalogVersion: 2, before: [r], after: [r, r]) }
        let a = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [], unrouted: [], rows: [], events: [e(5), e(30)], eventsDropped: 2)
        let b = NodeMatrix(series: "writes", stepMs: 1000, columnUnixMs: [], unrouted: [], rows: [], events: [e(10), e(30)], eventsDropped: 1)
        let out = ClusterMatrixMerger.merge([("a", a), ("b", b)], series: .writes, stepMs: 1000, rows: 10)
        #expect(out.events.map { $0.node ?? "" } == ["a", "b", "a", "b"])
        #expect(out.events.map(\.event.unixMs) == [5, 10, 30, 30])
        #expect(out.eventsDropped == 3)
    }

    @Test func randomizedMergesPreserveColumnTotalsKeyOrderCoverageAndTheBudget() {
        var rng = SplitMix64(seed: 2026)
        let alphabet = (0..<40).map { i in k("key/" + String(format: "%02d", i)) }
        for trial in 0..<300 {
            let step = Int64(1 + rng.next() % 2000)
            var nodes: [(node: String, matrix: NodeMatrix)] = []
            for n in 0..<Int(1 + rng.next() % 4) {
                // Columns: increasing times, at least a step apart, random phase.
                var t = Int64(1_700_000_000_000) + Int64(rng.next() % 5000)
                var cols: [Int64] = []
                for _ in 0..<Int(rng.next() % 8) { t += step + Int64(rng.next() % UInt64(step)); cols.append(t) }
                var rows: [NodeMatrix.Row] = []
                for _ in 0..<Int(rng.next() % 12) {
                    let a = Int(rng.next() % UInt64(alphabet.count)), len = Int(1 + rng.next() % 6)
                    let start = rng.next() % 7 == 0 ? [] : alphabet[a]
                    let end = a + len >= alphabet.count || rng.next() % 9 == 0 ? [] : alphabet[a + len]
                    rows.append(.init(start: start, end: end, routeCount: Int(1 + rng.next() % 3),
                                      values: cols.map { _ in rng.next() % 4 == 0 ? 0 : rng.next() % 1000 }))
                }
                rows.sort { $0.start.lexicographicallyPrecedes($1.start) }
                nodes.append(("n\(n)", NodeMatrix(series: "reads", stepMs: step, columnUnixMs: cols, unrouted: cols.map { _ in rng.next() % 3 }, rows: rows)))
            }
            let budget = Int(1 + rng.next() % 10)
            let m = ClusterMatrixMerger.merge(nodes, series: .reads, stepMs: step, rows: budget).matrix
            // Columns: sorted distinct grid points; every node column has one.
            #expect(m.columnUnixMs == m.columnUnixMs.sorted() && Set(m.columnUnixMs).count == m.columnUnixMs.count)
            var want: [Int64: UInt64] = [:], wantUnrouted: [Int64: UInt64] = [:]
            for (_, x) in nodes {
                for (j, t) in x.columnUnixMs.enumerated() {
                    want[slot(t, step), default: 0] += x.rows.reduce(0) { $0 + $1.values[j] }
                    wantUnrouted[slot(t, step), default: 0] += x.unrouted[j]
                }
            }
            #expect(Set(m.columnUnixMs) == Set(want.keys), "trial \(trial): columns are the grid points the nodes have")
            let hasRows = nodes.contains { !$0.matrix.rows.isEmpty }
            for (j, t) in m.columnUnixMs.enumerated() {
                if hasRows { #expect(m.columnTotal(j) == want[t], "trial \(trial): column \(t) keeps its total") }
                #expect(m.unrouted[j] == wantUnrouted[t])
            }
            #expect(m.rows.count <= budget, "trial \(trial): within the row budget")
            // Key order, no overlap: each row ends at or before the next starts.
            for (a, b) in zip(m.rows, m.rows.dropFirst()) {
                #expect(!a.end.isEmpty && !b.start.lexicographicallyPrecedes(a.end), "trial \(trial): rows in key order without overlap")
            }
            // Coverage: each node row lies within exactly one output row.
            for (_, x) in nodes {
                for r in x.rows {
                    let holders = m.rows.filter { o in
                        !r.start.lexicographicallyPrecedes(o.start) && (o.end.isEmpty || (!r.end.isEmpty && !o.end.lexicographicallyPrecedes(r.end)))
                    }
                    #expect(holders.count == 1, "trial \(trial): a node row lies in exactly one merged row")
                }
            }
            let nodeRoutes = nodes.reduce(0) { $0 + $1.matrix.rows.reduce(0) { $0 + $1.routeCount } }
            #expect(m.rows.reduce(0) { $0 + $1.routeCount } == nodeRoutes)
        }
    }
}
