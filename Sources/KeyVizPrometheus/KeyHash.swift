import KeyViz

/// A deterministic 64-bit hash of key bytes, optionally keyed by a cluster-wide layout seed.
///
/// Deterministic across processes and runs, unlike Swift's `Hasher`: two nodes with the same
/// catalog and seed must derive the same bucket boundaries and labels.
/// - seed 0 (the default): FNV-1a, then the SplitMix64 finaliser. Public and unkeyed, so
///   layouts match earlier versions and need no configuration, but anyone who can choose keys
///   can choose hashes (and so collapse the layout into a few buckets).
/// - any other seed: SipHash-1-3 keyed by (seed, mix(seed)). Without the seed, an adversary
///   cannot tell which keys become boundaries.
enum KeyHash {
    static func hash(_ key: [UInt8], seed: UInt64 = 0) -> UInt64 {
        seed == 0 ? KeyPreview.hash(key) : sip13(key, k0: seed, k1: SplitMix64.mix(seed))
    }


    /// SipHash-1-3 (one compression round, three finalisation rounds), little-endian words.
    static func sip13(_ key: [UInt8], k0: UInt64, k1: UInt64) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ k0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ k1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ k1
        @inline(__always) func round() {
            v0 &+= v1; v1 = v1.rotl(13); v1 ^= v0; v0 = v0.rotl(32)
            v2 &+= v3; v3 = v3.rotl(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotl(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotl(17); v1 ^= v2; v2 = v2.rotl(32)
        }
        let n = key.count
        key.withUnsafeBufferPointer { p in
            var i = 0
            while i + 8 <= n {
                var m: UInt64 = 0
                for j in 0..<8 { m |= UInt64(p[i + j]) << (8 * UInt64(j)) }
                v3 ^= m
                round()
                v0 ^= m
                i += 8
            }
            var last = UInt64(truncatingIfNeeded: n) << 56
            for j in 0..<(n - i) { last |= UInt64(p[i + j]) << (8 * UInt64(j)) }
            v3 ^= last
            round()
            v0 ^= last
        }
        v2 ^= 0xff
        round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

private extension UInt64 {
    @inline(__always) func rotl(_ k: UInt64) -> UInt64 { (self << k) | (self >> (64 - k)) }
}
