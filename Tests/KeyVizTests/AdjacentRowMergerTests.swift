@testable import KeyViz
import Testing

/// The merge decisions equal the rule done the slow way: while there are more rows than the
/// budget, merge the adjacent pair with the smallest combined total, the leftmost of equal
/// pairs first.
@Suite struct AdjacentRowMergerTests {
    /// The rule, O(n²): the reference the heap is checked against.
    private static func referenceGroups(totals: [UInt64], budget: Int) -> [Int] {
        var groups = totals.indices.map { (start: $0, total: totals[$0]) }
        while groups.count > max(1, budget) {
            var best = 0
            for i in 1..<(groups.count - 1) {
                if groups[i].total &+ groups[i + 1].total < groups[best].total &+ groups[best + 1].total { best = i }
            }
            groups[best].total &+= groups[best + 1].total
            groups.remove(at: best + 1)
        }
        return groups.map(\.start)
    }

    @Test(arguments: 0..<300 as Range<UInt64>)
    func mergeDecisionsEqualTheRuleDoneTheSlowWay(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let n = Int(rng.next() % 120)
        // Few distinct totals (ties everywhere, zeros included) or a wide spread, by seed.
        let spread: UInt64 = seed % 3 == 0 ? 3 : (seed % 3 == 1 ? 1_000 : .max / 4096)
        let totals = (0..<n).map { _ in rng.next() % spread }
        let budget = Int(rng.next() % 40)
        let got = AdjacentRowMerger.groups(totals: totals, budget: budget)
        let want = Self.referenceGroups(totals: totals, budget: budget)
        #expect(got == want, "seed \(seed): \(n) rows to \(budget): \(got) vs \(want)")
    }

    @Test func totalsThatWrapDoNotTrapAndEveryRowIsInOneGroup() {
        let totals: [UInt64] = [.max, .max, 1, .max, 0, 0, .max - 1]
        let got = AdjacentRowMerger.groups(totals: totals, budget: 2)
        #expect(got.count == 2 && got.first == 0 && got == got.sorted())
        #expect(got == Self.referenceGroups(totals: totals, budget: 2))
    }
}
