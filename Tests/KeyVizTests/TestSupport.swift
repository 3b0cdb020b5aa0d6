#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeyViz

func usleepMilliseconds(_ ms: Int) {
    usleep(useconds_t(ms * 1000))
}

/// A random history layout for the randomized tier tests: a finest step of 250, 500 or 750 ms,
/// one to three coarser tiers each 2-5 times the step before with 1-6 columns, and 1-8 finest
/// columns (drawn in that order, so a seed names one layout).
func randomTierLayout(_ rng: inout SplitMix64) -> (base: Int64, tiers: [HistoryTier], historyColumns: Int) {
    func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    let base = Int64(1 + below(3)) * 250
    var tiers: [HistoryTier] = []
    var step = base
    for _ in 0..<(1 + below(3)) {
        step *= Int64(2 + below(4))
        tiers.append(HistoryTier(stepMilliseconds: step, columns: 1 + below(6)))
    }
    return (base, tiers, 1 + below(8))
}
