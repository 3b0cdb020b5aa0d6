import KeyViz
import KeyVizTestKit

/// The route ids a hot-path case observes, in order: one fixed hot route, or a Zipf(1) draw
/// over `routes` routes (ranks mapped to ids by a fixed shuffle, so the hottest routes are not
/// neighbours in memory). Deterministic (seeded), so every run and every callgrind count
/// executes the same observations. The length is a power of two; loops index it with a mask.
struct Workload: Sendable {
    let ids: [RouteID]

    static func fixed(route: RouteID) -> Workload { Workload(ids: [route]) }

    static func zipf(routes: Int, length: Int = 1 << 16, seed: UInt64 = 42) -> Workload {
        precondition(length > 0 && length & (length - 1) == 0)
        var cdf = [Double](repeating: 0, count: routes)
        var sum = 0.0
        for k in 0..<routes {
            sum += 1 / Double(k + 1)
            cdf[k] = sum
        }
        var rng = SeededRandom(seed: seed)
        var byRank = (1...routes).map { RouteID($0) }
        byRank.shuffle(using: &rng)
        let ids: [RouteID] = (0..<length).map { _ in
            let u = Double(rng.next() >> 11) / Double(1 << 53) * sum
            var lo = 0, hi = routes - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            return byRank[lo]
        }
        return Workload(ids: ids)
    }
}
