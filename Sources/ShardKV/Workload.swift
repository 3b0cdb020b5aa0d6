#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif
public import KeyViz

/// A deterministic, skewed mix of reads, writes and gets against a coordinator: what the demo
/// node runs, and what tests use to drive real traffic.
///
/// Keys are `key/` + 8 zero-padded digits. A Zipf-like draw (a power of a uniform draw) picks
/// a distance from the current hotspot, so a few keys near it take most of the traffic; the
/// hotspot jumps to a new place every `hotspotPeriodOps` operations.
public struct Workload: Sendable {
    public var seed: UInt64
    /// Skew exponent: 1 is uniform; larger concentrates traffic at the hotspot.
    public var skew: Double
    public var hotspotPeriodOps: Int
    /// Fractions of operations that are writes and (data) gets; the rest are lease reads.
    public var writeFraction: Double
    public var getFraction: Double
    /// Distinct keys the workload uses (at most ``keySpace``); a small one bounds the store.
    public var keys: UInt64

    public static let keySpace: UInt64 = 100_000_000

    public init(seed: UInt64, skew: Double = 6, hotspotPeriodOps: Int = 200_000,
                writeFraction: Double = 0.3, getFraction: Double = 0.4, keys: UInt64 = Workload.keySpace) {
        self.seed = seed
        self.skew = skew
        self.hotspotPeriodOps = max(1, hotspotPeriodOps)
        self.writeFraction = writeFraction
        self.getFraction = getFraction
        self.keys = max(1, min(Workload.keySpace, keys))
    }

    public static func key(_ n: UInt64) -> [UInt8] {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: 8)
        var v = n % keySpace
        var i = 7
        while v > 0 && i >= 0 {
            digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        }
        return Array("key/".utf8) + digits
    }

    /// One worker's stream of operations.
    public struct Stream: Sendable {
        var rng: SplitMix64
        let workload: Workload
        var done = 0
        var hotspot: UInt64

        init(workload: Workload, worker: Int) {
            self.workload = workload
            rng = SplitMix64(seed: workload.seed &* 0x9E37_79B9 &+ UInt64(worker))
            var h = SplitMix64(seed: workload.seed)
            hotspot = h.next() % Workload.keySpace
        }

        /// Runs one operation and records in `expected` what the coordinator's sampler must have
        /// been told (the exactly-once contract: one observation per call, value length as
        /// returned). Errors (no route, a lost lease) are the workload's business, not the caller's.
        public mutating func step(on coordinator: ShardedCoordinator, expected: inout OpCounts) {
            if done % workload.hotspotPeriodOps == 0 && done > 0 {
                var h = SplitMix64(seed: workload.seed &+ UInt64(done / workload.hotspotPeriodOps))
                hotspot = h.next() % Workload.keySpace
            }
            done += 1
            let x = rng.next()
            let u = Double(x >> 11) / Double(1 << 53)
            let distance = UInt64(pow(u, workload.skew) * Double(Workload.keySpace / 2))
            var n = (x & 1 == 0 ? hotspot &+ distance : hotspot &+ Workload.keySpace &- distance) % Workload.keySpace
            if workload.keys < Workload.keySpace {
                // Keep the key's position in the key space, on a grid of `keys` distinct keys.
                let spacing = Workload.keySpace / workload.keys
                n -= n % spacing
            }
            let key = Workload.key(n)
            let kind = Double(rng.next() >> 11) / Double(1 << 53)
            if kind < workload.writeFraction {
                let valueLength = Int(rng.next() % 512)
                _ = try? coordinator.dispatch([.put(key: key, value: [UInt8](repeating: 0x61, count: valueLength))])
                expected.record(op: .write, bytes: UInt64(key.count + valueLength))
            } else if kind < workload.writeFraction + workload.getFraction {
                let value = (try? coordinator.get(key: key)) ?? nil
                expected.record(op: .read, bytes: UInt64(key.count + (value?.count ?? 0)))
            } else {
                _ = try? coordinator.leaseRead(forKey: key)
                expected.record(op: .read, bytes: UInt64(key.count))
            }
        }
    }

    public func stream(worker: Int) -> Stream { Stream(workload: self, worker: worker) }
}
