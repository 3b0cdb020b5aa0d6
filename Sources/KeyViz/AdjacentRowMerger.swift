/// Merges key-ordered heat-matrix rows down to a row budget, neighbours only.
///
/// Rule: while there are more rows than the budget, merge the adjacent pair whose combined
/// total (over all columns) is smallest, ties broken by key position. Cold neighbours are
/// therefore merged first and rows tend toward equal traffic, so a route much hotter than its
/// neighbours keeps a row of its own until the budget is too small to allow it. Values are
/// summed cell by cell, so every column keeps its exact total, and key order is kept.
/// O(n log n) with a heap over adjacent pairs.
package enum AdjacentRowMerger {
    package static func merge(_ rows: [HeatMatrixRow], budget: Int) -> [HeatMatrixRow] {
        guard rows.count > max(1, budget) else { return rows }
        let starts = groups(totals: rows.map(\.total), budget: budget)
        var out: [HeatMatrixRow] = []
        out.reserveCapacity(starts.count)
        for (g, first) in starts.enumerated() {
            let last = g + 1 < starts.count ? starts[g + 1] : rows.count
            var row = rows[first]
            for i in (first + 1)..<last { absorb(&row, rows[i]) }
            if row.aggregate, let id = row.routeIDs.first { row.rowID = "aggregate:\(id)+\(row.routeCount)" }
            out.append(row)
        }
        return out
    }

    /// The merge decisions alone, from each row's total: the index of the first row of every
    /// group, ascending (groups are runs of adjacent rows). O(n log n) time, O(n) memory, and
    /// no row values, so a caller can size only the rows it will output.
    package static func groups(totals: [UInt64], budget: Int) -> [Int] {
        let budget = max(1, budget)
        let n = totals.count
        guard n > budget else { return Array(0..<n) }
        var totals = totals
        var next = Array(1...n)          // n = none
        var prev = Array(-1..<(n - 1))   // -1 = none
        var version = [Int](repeating: 0, count: n)
        var alive = [Bool](repeating: true, count: n)
        var heap = PairHeap()
        for i in 0..<(n - 1) {
            heap.push(.init(cost: totals[i] &+ totals[i + 1], left: i, leftVersion: 0, right: i + 1, rightVersion: 0))
        }
        var count = n
        while count > budget, let pair = heap.pop() {
            let l = pair.left, r = pair.right
            guard alive[l], alive[r], version[l] == pair.leftVersion, version[r] == pair.rightVersion, next[l] == r else { continue }
            totals[l] &+= totals[r]
            alive[r] = false
            version[l] += 1
            next[l] = next[r]
            if next[r] < n { prev[next[r]] = l }
            count -= 1
            if prev[l] >= 0 {
                let p = prev[l]
                heap.push(.init(cost: totals[p] &+ totals[l], left: p, leftVersion: version[p], right: l, rightVersion: version[l]))
            }
            if next[l] < n {
                let m = next[l]
                heap.push(.init(cost: totals[l] &+ totals[m], left: l, leftVersion: version[l], right: m, rightVersion: version[m]))
            }
        }
        return (0..<n).filter { alive[$0] }
    }

    package static func absorb(_ into: inout HeatMatrixRow, _ other: HeatMatrixRow) {
        into.aggregate = true
        for (j, v) in other.values.enumerated() { into.values[j] &+= v }
        if into.end.isEmpty || other.end.isEmpty {
            into.end = []
        } else if into.end.lexicographicallyPrecedes(other.end) {
            into.end = other.end
        }
        let room = HeatMatrixRow.maxListedRoutes - into.routeIDs.count
        into.routeIDs.append(contentsOf: other.routeIDs.prefix(max(0, room)))
        // Saturating: a count from outside (a peer's row) must not trap the merge.
        let (sum, overflow) = into.routeCount.addingReportingOverflow(other.routeCount)
        into.routeCount = overflow ? (other.routeCount > 0 ? Int.max : Int.min) : sum
        into.routeIDsTruncated = into.routeCount > into.routeIDs.count
    }

    struct Pair {
        var cost: UInt64
        var left: Int
        var leftVersion: Int
        var right: Int
        var rightVersion: Int

        func precedes(_ o: Pair) -> Bool { cost < o.cost || (cost == o.cost && left < o.left) }
    }

    /// A binary min-heap of pairs.
    struct PairHeap {
        private var items: [Pair] = []

        mutating func push(_ p: Pair) {
            items.append(p)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard items[i].precedes(items[parent]) else { break }
                items.swapAt(i, parent)
                i = parent
            }
        }

        mutating func pop() -> Pair? {
            guard !items.isEmpty else { return nil }
            let top = items[0]
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < items.count, items[l].precedes(items[m]) { m = l }
                    if r < items.count, items[r].precedes(items[m]) { m = r }
                    if m == i { break }
                    items.swapAt(i, m)
                    i = m
                }
            }
            return top
        }
    }
}
