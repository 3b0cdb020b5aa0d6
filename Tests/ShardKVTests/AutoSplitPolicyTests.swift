import KeyViz
import ShardKV
import Testing

/// The demo's --auto-split policy: it acts only on stable, balanced advice, once per cooldown.
@Suite struct AutoSplitPolicyTests {
    private func advice(route: RouteID, rank: Int = 1, verdict: SplitAdvice.Verdict = .split, balance: Double = 0.95,
                        samples: Int = 500, op: Op = .read) -> SplitAdvice {
        let left = balance / 2          // 1 - |2p - 1| = balance
        return SplitAdvice(route: route, op: op, rank: rank, verdict: verdict, key: [0x6b, 0x35], truncated: false,
                           leftShare: left, leftShareErrorBound: 0.03, samples: samples, routeStart: [], routeEnd: [])
    }

    @Test func theSameRouteMustBeAdvisedThreeUpdatesInARow() {
        var p = AutoSplitPolicy(cooldownMs: 5_000, minBalance: 0.8, maxRoutes: 100)
        #expect(p.consider([advice(route: 1)], nowMs: 0, routes: 10) == nil)
        #expect(p.consider([advice(route: 1)], nowMs: 1_000, routes: 10) == nil)
        #expect(p.consider([advice(route: 2)], nowMs: 2_000, routes: 10) == nil, "another route restarts the count")
        #expect(p.consider([advice(route: 2)], nowMs: 3_000, routes: 10) == nil)
        #expect(p.consider([advice(route: 2)], nowMs: 4_000, routes: 10)?.route == 2)
    }

    @Test func aCooldownSeparatesTwoSplitsAndAGapInTheAdviceRestartsTheCount() {
        var p = AutoSplitPolicy(cooldownMs: 5_000, minBalance: 0.8, maxRoutes: 100)
        for t in 0..<2 { _ = p.consider([advice(route: 1)], nowMs: Int64(t) * 1_000, routes: 10) }
        #expect(p.consider([advice(route: 1)], nowMs: 2_000, routes: 10) != nil)
        var acted: [Int64] = []
        for t in 3...12 {
            if p.consider([advice(route: 7)], nowMs: Int64(t) * 1_000, routes: 11) != nil { acted.append(Int64(t) * 1_000) }
        }
        #expect(acted == [7_000, 12_000], "stable from 5 s, then once per 5 s cooldown: \(acted)")
        #expect(p.consider([advice(route: 7, verdict: .tooFewSamples)], nowMs: 20_000, routes: 12) == nil)
        #expect(p.consider([advice(route: 7)], nowMs: 21_000, routes: 12) == nil, "the count restarted")
    }

    @Test func unbalancedUnsplittableOrTooManyRoutesIsNoSplit() {
        for bad in [advice(route: 1, balance: 0.6), advice(route: 1, verdict: .singleHotKey), advice(route: 1, verdict: .tooFewSamples)] {
            var p = AutoSplitPolicy(cooldownMs: 0, minBalance: 0.8, maxRoutes: 100)
            for t in 0..<5 { #expect(p.consider([bad], nowMs: Int64(t), routes: 10) == nil) }
        }
        var full = AutoSplitPolicy(cooldownMs: 0, minBalance: 0.8, maxRoutes: 10)
        for t in 0..<5 { #expect(full.consider([advice(route: 1)], nowMs: Int64(t), routes: 10) == nil) }
    }

    @Test func theRankOneAdviceWithTheMostSamplesIsTheCandidate() {
        var p = AutoSplitPolicy(cooldownMs: 0, minBalance: 0.8, maxRoutes: 100)
        let update = [advice(route: 1, samples: 100, op: .write), advice(route: 2, samples: 900, op: .read), advice(route: 3, rank: 2, samples: 5_000)]
        var chosen: SplitAdvice?
        for t in 0..<3 { chosen = p.consider(update, nowMs: Int64(t), routes: 10) }
        #expect(chosen?.route == 2)
    }
}
