/// The split key for one route from a uniform sample of its keys: the sampled key at which the
/// share of samples below it is closest to one half (a weighted median, every sample weighing
/// the same), considering only keys strictly inside the route so both new routes are
/// non-empty. When even the best such key leaves one side more than three quarters of the load,
/// one key carries it (no key can be that lopsided otherwise: with every key under a quarter
/// of the load the cumulative share crosses [¼, ¾]), and that key is reported instead.
enum SplitAdvisor {
    struct Choice: Equatable {
        var verdict: SplitAdvice.Verdict
        var key: [UInt8]
        var truncated: Bool
        var leftShare: Double
        var errorBound: Double
        var samples: Int
    }

    /// A best split below this balance is not advised (one side would keep more than ¾).
    static let minimumBalance = 0.5

    static func advise(keys sampled: [(key: [UInt8], truncated: Bool)], start: [UInt8], end: [UInt8], minSamples: Int) -> Choice {
        let route = Route(id: .unrouted, start: start, end: end, group: ShardGroupID(0))
        var keys = sampled.filter { route.contains($0.key) }
        let n = keys.count
        guard n >= max(1, minSamples) else {
            return Choice(verdict: .tooFewSamples, key: [], truncated: false, leftShare: 0, errorBound: 1, samples: n)
        }
        keys.sort { $0.key.lexicographicallyPrecedes($1.key) }
        // Distinct keys in order, with how many samples each has and how many lie below it.
        var best: (index: Int, left: Int)?
        var hottest = (index: 0, count: 0)
        var i = 0
        while i < n {
            var j = i + 1
            while j < n && keys[j].key == keys[i].key { j += 1 }
            if j - i > hottest.count { hottest = (i, j - i) }
            // Splitting at keys[i] sends the i samples below it left; the key must lie above
            // the route's start (an empty left route otherwise).
            if keys[i].key != start {
                if best == nil || abs(2 * i - n) < abs(2 * best!.left - n) { best = (i, i) }
            }
            i = j
        }
        func bound(_ p: Double) -> Double { 2 * (p * (1 - p) / Double(n)).squareRoot() + 1 / Double(n) }
        if let best {
            let p = Double(best.left) / Double(n)
            if 1 - abs(2 * p - 1) >= minimumBalance {
                let group = keys[best.index...].prefix { $0.key == keys[best.index].key }
                return Choice(verdict: .split, key: keys[best.index].key, truncated: group.contains { $0.truncated },
                              leftShare: p, errorBound: bound(p), samples: n)
            }
        }
        let hot = keys[hottest.index...].prefix { $0.key == keys[hottest.index].key }
        let p = best.map { Double($0.left) / Double(n) } ?? 0
        return Choice(verdict: .singleHotKey, key: keys[hottest.index].key, truncated: hot.contains { $0.truncated },
                      leftShare: p, errorBound: bound(p), samples: n)
    }
}
