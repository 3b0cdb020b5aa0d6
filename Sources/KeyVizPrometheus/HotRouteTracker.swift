import KeyViz

/// The busiest routes over a sliding window, computed in-process from folded per-route deltas.
///
/// The window is cut into 12 slices. Each fold adds a route's delta to the current slice and to
/// a running per-route sum; a slice that leaves the window is subtracted. Ranking is by the
/// windowed count (ties: lower route id), and rates divide by the time the window covers (less
/// than the window right after start). Cost is O(routes touched) per fold and O(active routes)
/// per ranking.
struct HotRouteTracker {
    struct Entry {
        var route: Route
        var reads: UInt64
        var writes: UInt64
    }

    private struct Slice {
        var number: Int64 = -1
        var deltas: [RouteID: (reads: UInt64, writes: UInt64)] = [:]
    }

    let windowMs: Int64
    private let sliceMs: Int64
    private var slices: [Slice]
    private var sums: [RouteID: Entry] = [:]
    private(set) var totalReads: UInt64 = 0
    private(set) var totalWrites: UInt64 = 0
    private let startMs: Int64

    static let sliceCount = 12

    init(windowMs: Int64, nowMs: Int64) {
        self.windowMs = max(Int64(Self.sliceCount), windowMs)
        sliceMs = self.windowMs / Int64(Self.sliceCount)
        slices = Array(repeating: Slice(), count: Self.sliceCount)
        startMs = nowMs
    }

    mutating func add(route: Route, reads: UInt64, writes: UInt64, nowMs: Int64) {
        guard reads | writes != 0 else { return }
        let n = nowMs / sliceMs
        let i = Int(n % Int64(Self.sliceCount))
        if slices[i].number != n { expire(i); slices[i].number = n }
        slices[i].deltas[route.id, default: (0, 0)].reads &+= reads
        slices[i].deltas[route.id, default: (0, 0)].writes &+= writes
        sums[route.id, default: Entry(route: route, reads: 0, writes: 0)].reads &+= reads
        sums[route.id]!.writes &+= writes
        sums[route.id]!.route = route
        totalReads &+= reads
        totalWrites &+= writes
    }

    /// Drops slices that have left the window.
    mutating func advance(nowMs: Int64) {
        let n = nowMs / sliceMs
        for i in slices.indices where slices[i].number >= 0 && slices[i].number <= n - Int64(Self.sliceCount) {
            expire(i)
        }
    }

    /// Seconds the window covers now.
    func coveredSeconds(nowMs: Int64) -> Double {
        Double(max(sliceMs, min(windowMs, nowMs - startMs))) / 1000
    }

    /// The top `k` routes for `op`, busiest first.
    func top(_ k: Int, op: Op) -> [(route: Route, count: UInt64)] {
        guard k > 0 else { return [] }
        var best: [(route: Route, count: UInt64)] = []
        for e in sums.values {
            let c = op == .read ? e.reads : e.writes
            guard c > 0 else { continue }
            if best.count == k, let last = best.last, c < last.count || (c == last.count && e.route.id > last.route.id) { continue }
            let pos = best.firstIndex { c > $0.count || (c == $0.count && e.route.id < $0.route.id) } ?? best.count
            best.insert((e.route, c), at: pos)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    func total(_ op: Op) -> UInt64 { op == .read ? totalReads : totalWrites }

    private mutating func expire(_ i: Int) {
        for (id, d) in slices[i].deltas {
            guard var e = sums[id] else { continue }
            e.reads &-= d.reads
            e.writes &-= d.writes
            totalReads &-= d.reads
            totalWrites &-= d.writes
            sums[id] = e.reads | e.writes == 0 ? nil : e
        }
        slices[i].deltas.removeAll(keepingCapacity: true)
        slices[i].number = -1
    }
}
