import KeyViz

/// A seeded, deterministic random number generator (SplitMix64) for a host's reproducible
/// workloads and randomized tests: the same seed gives the same draws on every run and
/// machine, so a failing seed can be replayed. Not for anything secret.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { generator.next() }
}
