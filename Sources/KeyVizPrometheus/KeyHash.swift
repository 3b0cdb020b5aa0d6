import KeyViz

/// A deterministic 64-bit hash of key bytes (FNV-1a, then the SplitMix64 finaliser).
///
/// Deterministic across processes and runs, unlike Swift's `Hasher`: two nodes with the same
/// catalog must derive the same bucket boundaries and labels.
enum KeyHash {
    static func hash(_ key: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return SplitMix64.mix(h)
    }
}
