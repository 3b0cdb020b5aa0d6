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
    ///
    /// The heap holds 16-byte entries (a pair's cost and its two rows), built in O(n) and
    /// never searched: an entry is current while its rows are still neighbours and their
    /// totals still sum to its cost. A stale entry with the same cost and left row as a current
    /// one stands for the same merge, so no version numbers are kept. At 1 M rows this was
    /// most of a matrix request (40-byte entries, pushed one by one).
    package static func groups(totals: [UInt64], budget: Int) -> [Int] {
        let budget = max(1, budget)
        let n = totals.count
        guard n > budget else { return Array(0..<n) }
        // Row indices fit in 32 bits: 2^31 totals would be 16 GiB before the call.
        var totals = totals
        var next = [Int32](unsafeUninitializedCapacity: n) { b, c in
            for i in 0..<n { b[i] = Int32(truncatingIfNeeded: i + 1) }
            c = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { b, c in
            for i in 0..<n { b[i] = Int32(truncatingIfNeeded: i - 1) }
            c = n
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = PairHeap(pairs: (0..<(n - 1)).map { i in
            Pair(cost: totals[i] &+ totals[i + 1], left: Int32(truncatingIfNeeded: i), right: Int32(truncatingIfNeeded: i + 1))
        })
        let none = Int32(truncatingIfNeeded: n)
        var count = n
        while count > budget, let pair = heap.top {
            let l = Int(pair.left), r = Int(pair.right)
            guard alive[l], next[l] == pair.right, totals[l] &+ totals[r] == pair.cost else {
                heap.removeTop()
                continue
            }
            totals[l] &+= totals[r]
            alive[r] = false
            next[l] = next[r]
            if next[r] != none { prev[Int(next[r])] = pair.left }
            count -= 1
            // The merged row's pair with its new right neighbour takes the top's place: one
            // sift instead of a removal and an insertion.
            if next[l] != none {
                let m = Int(next[l])
                heap.replaceTop(with: Pair(cost: totals[l] &+ totals[m], left: pair.left, right: next[l]))
            } else {
                heap.removeTop()
            }
            if prev[l] >= 0 {
                let p = Int(prev[l])
                heap.push(Pair(cost: totals[p] &+ totals[l], left: prev[l], right: pair.left))
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
        var left: Int32
        var right: Int32

        @inline(__always)
        func precedes(_ o: Pair) -> Bool { cost < o.cost || (cost == o.cost && left < o.left) }
    }

    /// A 4-ary min-heap of pairs: a node's four children are 64 adjacent bytes, and a sift
    /// is half as deep as a binary heap's, so at 1 M pairs it misses the cache about half as
    /// often.
    struct PairHeap {
        private var items: [Pair]

        /// Heapified in place, O(n).
        init(pairs: [Pair]) {
            items = pairs
            var i = (items.count + 2) / 4
            while i > 0 {
                i -= 1
                siftDown(from: i)
            }
        }

        mutating func push(_ p: Pair) {
            items.append(p)
            items.withUnsafeMutableBufferPointer { items in
                var i = items.count - 1
                while i > 0 {
                    let parent = (i - 1) / 4
                    guard p.precedes(items[parent]) else { break }
                    items[i] = items[parent]
                    i = parent
                }
                items[i] = p
            }
        }

        var top: Pair? { items.first }

        mutating func removeTop() {
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                siftDown(from: 0)
            }
        }

        mutating func replaceTop(with p: Pair) {
            items[0] = p
            siftDown(from: 0)
        }

        private mutating func siftDown(from start: Int) {
            items.withUnsafeMutableBufferPointer { items in
                let n = items.count
                var i = start
                let moving = items[i]
                while true {
                    let c = 4 * i + 1
                    guard c < n else { break }
                    var m = c
                    for k in (c + 1)..<min(c + 4, n) where items[k].precedes(items[m]) { m = k }
                    guard items[m].precedes(moving) else { break }
                    items[i] = items[m]
                    i = m
                }
                items[i] = moving
            }
        }
    }
}
