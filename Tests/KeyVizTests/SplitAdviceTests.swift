#if canImport(Glibc)
import Glibc
#endif
@testable import KeyViz
import KeyVizTestKit
import Testing

/// Split advice: the advised key lies strictly inside the route and predicts the balance the
/// whole workload would get; a single very hot key is reported, not split around.
@Suite struct SplitAdviceTests {
    private static func key(_ i: Int) -> [UInt8] {
        var digits = Array(String(i).utf8)
        while digits.count < 8 { digits.insert(UInt8(ascii: "0"), at: 0) }
        return Array("user/".utf8) + digits
    }

    /// One route `[user/00000000, user/00100000)` inside a catalog of three.
    private static let catalog = try! RouteCatalog(routes: [
        Route(id: 1, start: [], end: key(0), group: 1),
        Route(id: 2, start: key(0), end: key(100_000), group: 1),
        Route(id: 3, start: key(100_000), end: [], group: 1),
    ])

    /// The share of `workload`'s keys below `split` (what the route's left half would serve).
    private static func trueLeftShare(_ workload: [Int], _ split: [UInt8]) -> Double {
        Double(workload.filter { key($0).lexicographicallyPrecedes(split) }.count) / Double(workload.count)
    }

    private static func advise(_ workload: [Int], configuration: HotKeySamplerConfiguration = .init()) -> SplitAdvice? {
        var configuration = configuration
        configuration.windowMilliseconds = 0        // no halving: a slow run must not change the counts
        let s = HotKeySampler(wrapping: RecordingSampler(), configuration: configuration)
        s.apply(catalog)
        for (n, i) in workload.enumerated() {
            s.observe(route: 2, op: .write, key: key(i), valueLength: 10)
            if n % 8_192 == 8_191 { s.drain() }     // as a host's drainer does (the queue holds 256)
        }
        return s.splitAdvice(op: .write).first
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func theAdvisedKeyIsInsideTheRouteAndPredictsTheWholeWorkloadsBalance(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        // Odd seeds: uniform over the route's keys; even: Zipf(1)-like, the hottest keys spread
        // over the range by a fixed permutation.
        let zipf = seed % 2 == 0
        let workload: [Int] = (0..<300_000).map { _ in
            if !zipf { return Int(rng.next() % 100_000) }
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            let rank = Int(pow(100_000.0, u)) - 1             // P(rank) ~ 1/rank
            return (rank &* 7_919 &+ 13) % 100_000
        }
        let advice = try #require(Self.advise(workload))
        #expect(advice.verdict == .split, "seed \(seed): \(advice)")
        #expect(advice.route == 2 && advice.rank == 1 && advice.samples >= 1_000)
        #expect(Self.key(0).lexicographicallyPrecedes(advice.key) && advice.key.lexicographicallyPrecedes(Self.key(100_000)),
                "seed \(seed): the key is strictly inside the route")
        let truth = Self.trueLeftShare(workload, advice.key)
        let trueBalance = 1 - abs(2 * truth - 1)
        #expect(abs(advice.balance - trueBalance) <= 0.10, "seed \(seed): predicted \(advice.balance), from every key \(trueBalance)")
        #expect(abs(advice.leftShare - truth) <= advice.leftShareErrorBound * 1.5, "seed \(seed): left \(advice.leftShare) vs \(truth)")
        #expect(advice.balance >= 0.9, "seed \(seed): a workload with no dominant key splits near its middle")
    }

    @Test func aSingleVeryHotKeyIsReportedAsUnsplittable() throws {
        var rng = SplitMix64(seed: 9)
        let workload: [Int] = (0..<100_000).map { _ in rng.next() % 10 < 9 ? 4_242 : Int(rng.next() % 100_000) }
        let advice = try #require(Self.advise(workload))
        #expect(advice.verdict == .singleHotKey)
        #expect(advice.key == Self.key(4_242))
    }

    @Test func aRouteWithFewSamplesGetsNoAdviceYet() throws {
        let advice = try #require(Self.advise(Array(0..<640)))   // 10 samples at 1 in 64
        #expect(advice.verdict == .tooFewSamples && advice.key.isEmpty)
    }

    @Test func keysAtTheRoutesStartAreNeverTheSplitKey() throws {
        var rng = SplitMix64(seed: 5)
        // 60% of the load on the route's first key: the split goes just above it.
        let workload: [Int] = (0..<100_000).map { _ in rng.next() % 10 < 6 ? 0 : 1 + Int(rng.next() % 99_999) }
        let advice = try #require(Self.advise(workload))
        #expect(advice.verdict == .split)
        #expect(Self.key(0).lexicographicallyPrecedes(advice.key))
        #expect(abs(advice.leftShare - Self.trueLeftShare(workload, advice.key)) <= 0.05)
    }

    /// Against a brute force over every candidate key, on small random samples: the choice is a
    /// valid key with the smallest imbalance, and the verdict follows the ¾ rule.
    @Test func theAdvisorPicksTheMostBalancedValidKey() {
        var rng = SplitMix64(seed: 77)
        for round in 0..<2_000 {
            let alphabet = 1 + Int(rng.next() % 12)
            let n = 1 + Int(rng.next() % 40)
            let keys: [[UInt8]] = (0..<n).map { _ in [UInt8(rng.next() % UInt64(alphabet))] }
            let start: [UInt8] = rng.next() % 3 == 0 ? [] : [UInt8(rng.next() % 3)]
            let end: [UInt8] = rng.next() % 3 == 0 ? [] : [UInt8(6 + rng.next() % 6)]
            let c = SplitAdvisor.advise(keys: keys.map { ($0, false) }, start: start, end: end, minSamples: 1)
            let inside = keys.filter { !$0.lexicographicallyPrecedes(start) && (end.isEmpty || $0.lexicographicallyPrecedes(end)) }
            if inside.isEmpty {
                #expect(c.verdict == .tooFewSamples, "round \(round)")
                continue
            }
            #expect(c.samples == inside.count)
            let candidates = Set(inside).filter { $0 != start }
            let imbalance = { (k: [UInt8]) in abs(2 * inside.filter { $0.lexicographicallyPrecedes(k) }.count - inside.count) }
            let best = candidates.map(imbalance).min()
            let bestBalance = best.map { 1 - Double($0) / Double(inside.count) }
            if let bestBalance, bestBalance >= SplitAdvisor.minimumBalance {
                #expect(c.verdict == .split, "round \(round): \(keys) [\(start), \(end)) -> \(c)")
                #expect(candidates.contains(c.key) && imbalance(c.key) == best, "round \(round): \(keys) -> \(c)")
                #expect(c.leftShare == Double(inside.filter { $0.lexicographicallyPrecedes(c.key) }.count) / Double(inside.count))
            } else {
                #expect(c.verdict == .singleHotKey, "round \(round): \(keys) [\(start), \(end)) -> \(c)")
                let counts = Dictionary(inside.map { ($0, 1) }, uniquingKeysWith: +)
                #expect(counts[c.key] == counts.values.max(), "round \(round): the reported key is the hottest")
            }
        }
    }

    @Test func memoryIsBoundedByTheTrackedRoutesAndAdviceByTheConfiguredCount() {
        let s = HotKeySampler(wrapping: RecordingSampler(),
                              configuration: .init(sampleEvery: 1, trackedRoutes: 4, splitAdviceRoutes: 2, windowMilliseconds: 0))
        let catalog = RouteCatalog.evenlySplit(count: 64, groups: 1)
        s.apply(catalog)
        var rng = SplitMix64(seed: 1)
        for _ in 0..<50_000 {
            let r = catalog.routes[Int(rng.next() % 64)]
            s.observe(route: r.id, op: .read, key: r.start + [UInt8(rng.next() % 200)], valueLength: 1)
        }
        #expect(s.keySketchesAllocated <= 4)
        let advice = s.splitAdvice(op: .read)
        #expect(advice.count == 2 && advice.map(\.rank) == [1, 2])
        for a in advice where a.verdict == .split {
            let r = catalog.route(id: a.route)!
            #expect(r.start.lexicographicallyPrecedes(a.key) && (r.end.isEmpty || a.key.lexicographicallyPrecedes(r.end)))
        }
    }

    /// A route just admitted to the tracked set inherits the evicted route's count as its error:
    /// it ranks by what it sampled itself, below a route with more samples of its own.
    @Test func advisedRoutesRankByTheirGuaranteedSampleCount() {
        let s = HotKeySampler(wrapping: RecordingSampler(), configuration: .init(sampleEvery: 1, trackedRoutes: 3, splitMinSamples: 1, windowMilliseconds: 0))
        let catalog = RouteCatalog.evenlySplit(count: 8, groups: 1)
        s.apply(catalog)
        func hit(_ i: Int, _ n: Int) {
            let r = catalog.routes[i]
            for k in 0..<n { s.observe(route: r.id, op: .write, key: r.start + [UInt8(k % 200)], valueLength: 1) }
            s.drain()
        }
        hit(0, 100)
        hit(1, 10)
        hit(2, 10)
        hit(3, 1)       // evicts route 2 (count 10, the first minimum): route 4 has count 11, 10 inherited
        let ranked = s.splitAdvice(op: .write).map(\.route)
        #expect(ranked == [catalog.routes[0].id, catalog.routes[2].id, catalog.routes[3].id], "\(ranked)")
    }
}
