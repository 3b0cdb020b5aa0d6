/// A uniform random sample of a route's sampled keys (reservoir sampling, Vitter's algorithm
/// R) in storage allocated once: the input of split advice, which needs the keys' *order*
/// (where half the load falls), not only the heavy hitters a ``KeySketch`` keeps.
///
/// Decay: ``halve()`` halves the count of keys seen, so later keys replace kept ones twice as
/// often; older traffic fades the way the sketches' halved counts do.
struct KeyReservoir {
    let capacity: Int
    let maxKeyBytes: Int
    /// Keys offered since the reservoir was made or reset (halved with the window).
    private(set) var seen: UInt64 = 0
    private(set) var count = 0
    private var lengths: [UInt16]
    private var truncated: [Bool]
    private var arena: [UInt8]
    private var rng: SplitMix64

    init(capacity: Int, maxKeyBytes: Int, seed: UInt64) {
        self.capacity = max(1, capacity)
        self.maxKeyBytes = max(0, min(Int(UInt16.max), maxKeyBytes))
        lengths = Array(repeating: 0, count: self.capacity)
        truncated = Array(repeating: false, count: self.capacity)
        arena = Array(repeating: 0, count: self.capacity * self.maxKeyBytes)
        rng = SplitMix64(seed: seed)
    }

    /// Offers one sampled key (cut at ``maxKeyBytes``; `cut` says it was longer already).
    mutating func add(_ fullKey: UnsafeRawBufferPointer, cut: Bool) {
        seen &+= 1
        let slot: Int
        if count < capacity {
            slot = count
            count += 1
        } else {
            let j = rng.next() % seen
            guard j < UInt64(capacity) else { return }
            slot = Int(j)
        }
        let length = min(fullKey.count, maxKeyBytes)
        lengths[slot] = UInt16(length)
        truncated[slot] = cut || fullKey.count > maxKeyBytes
        if length > 0 {
            let size = maxKeyBytes
            arena.withUnsafeMutableBytes { a in
                (a.baseAddress! + slot * size).copyMemory(from: fullKey.baseAddress!, byteCount: length)
            }
        }
    }

    mutating func halve() {
        seen = max(UInt64(count), seen / 2)
    }

    mutating func reset() {
        seen = 0
        count = 0
    }

    /// The kept keys (copies), in no particular order.
    func keys() -> [(key: [UInt8], truncated: Bool)] {
        (0..<count).map { i in
            (key: Array(arena[(i * maxKeyBytes)..<(i * maxKeyBytes + Int(lengths[i]))]), truncated: truncated[i])
        }
    }
}
