#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A space-saving top-k sketch over byte keys (see ``SpaceSavingSketch`` for the algorithm and
/// its bounds) whose storage is allocated once: keys live in a fixed arena of
/// `capacity × maxKeyBytes` bytes, found through an open-addressing table of entry numbers.
///
/// Why not `SpaceSavingSketch<[UInt8]>`: every sample then built an array to look itself up
/// (a malloc per sample) and each tracked route's sketch was a new dictionary. This one takes
/// the key as a borrowed buffer, allocates nothing after init, and is reset for reuse when its
/// route stops being tracked.
struct KeySketch {
    let capacity: Int
    let maxKeyBytes: Int
    /// Weight offered since the sketch was made or reset (decayed with it).
    private(set) var total: UInt64 = 0
    private(set) var count = 0
    /// One entry's numbers, kept together: an insert writes one element (one uniqueness
    /// check, one cache line) instead of five arrays.
    private struct Entry {
        var count: UInt64 = 0
        var error: UInt64 = 0
        var hash = 0
        var length: UInt16 = 0
        var truncated = false
    }
    private var entries: [Entry]
    private var arena: [UInt8]
    /// Entry number per slot, -1 empty; linear probing, deletion by backward shift.
    private var table: [Int32]
    private let mask: Int
    /// Seeds the key hash, per sketch and per process, so keys chosen to collide in one
    /// process do not collide in another (a probe is bounded by the table's size anyway).
    private let seed: UInt64

    init(capacity: Int, maxKeyBytes: Int) {
        self.capacity = max(1, capacity)
        self.maxKeyBytes = max(0, min(Int(UInt16.max), maxKeyBytes))
        entries = Array(repeating: Entry(), count: self.capacity)
        arena = Array(repeating: 0, count: self.capacity * self.maxKeyBytes)
        var slots = 4
        while slots < 2 * self.capacity { slots *= 2 }
        table = Array(repeating: -1, count: slots)
        mask = slots - 1
        var random = SystemRandomNumberGenerator()
        seed = random.next()
    }

    var isEmpty: Bool { count == 0 }

    /// A multiply-and-fold hash over 8-byte words (Hasher's SipHash was most of a sample's
    /// cost; this table needs spread, not a cryptographic guarantee: it holds a few dozen keys
    /// and a probe never runs longer than the table).
    private static func hash(_ key: UnsafeRawBufferPointer, _ cut: Bool, seed: UInt64) -> Int {
        var h = seed ^ (UInt64(key.count) &* 0x9E37_79B9_7F4A_7C15) ^ (cut ? 0xA076_1D64_78BD_642F : 0)
        let n = key.count
        var i = 0
        if let base = key.baseAddress {
            while i + 8 <= n {
                h = fold(h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            if i < n {
                var tail: UInt64 = 0
                for j in i..<n { tail = tail << 8 | UInt64(base.load(fromByteOffset: j, as: UInt8.self)) }
                h = fold(h ^ tail)
            }
        }
        return Int(truncatingIfNeeded: fold(h ^ 0xE703_7ED1_A0B4_28DB))
    }

    /// One multiply, folding the high half of the 128-bit product into the low.
    @inline(__always)
    private static func fold(_ x: UInt64) -> UInt64 {
        let p = x.multipliedFullWidth(by: 0xBF58_476D_1CE4_E5B9)
        return p.high ^ p.low
    }

    private func matches(_ e: Int, _ key: UnsafeRawBufferPointer, _ cut: Bool, _ h: Int) -> Bool {
        let entry = entries[e]
        guard entry.hash == h, Int(entry.length) == key.count, entry.truncated == cut else { return false }
        return arena.withUnsafeBytes { a in
            key.count == 0 || memcmp(a.baseAddress! + e * maxKeyBytes, key.baseAddress!, key.count) == 0
        }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    private func probe(_ key: UnsafeRawBufferPointer, _ cut: Bool, _ h: Int) -> (slot: Int, found: Bool) {
        var i = h & mask
        while true {
            let e = Int(table[i])
            if e < 0 { return (i, false) }
            if matches(e, key, cut, h) { return (i, true) }
            i = (i + 1) & mask
        }
    }

    /// Counts one more sample of `key` (at most ``maxKeyBytes`` bytes are kept; `cut` says the
    /// key was longer). Returns nothing: the caller needs no evicted key.
    mutating func add(_ fullKey: UnsafeRawBufferPointer, cut: Bool) {
        let key = UnsafeRawBufferPointer(start: fullKey.baseAddress, count: min(fullKey.count, maxKeyBytes))
        let cut = cut || fullKey.count > maxKeyBytes
        total &+= 1
        let h = Self.hash(key, cut, seed: seed)
        let (slot, found) = probe(key, cut, h)
        if found {
            entries[Int(table[slot])].count &+= 1
            return
        }
        if count < capacity {
            store(key, cut, h, at: count, count: 1, error: 0)
            table[slot] = Int32(count)
            count += 1
            return
        }
        var m = 0
        entries.withUnsafeBufferPointer { all in
            for i in 1..<count where all[i].count < all[m].count { m = i }
        }
        remove(entry: m)
        let floor = entries[m].count
        store(key, cut, h, at: m, count: floor &+ 1, error: floor)
        table[probe(key, cut, h).slot] = Int32(m)
    }

    private mutating func store(_ key: UnsafeRawBufferPointer, _ cut: Bool, _ h: Int, at e: Int, count c: UInt64, error: UInt64) {
        entries[e] = Entry(count: c, error: error, hash: h, length: UInt16(key.count), truncated: cut)
        if key.count > 0 {
            let size = maxKeyBytes
            arena.withUnsafeMutableBytes { a in (a.baseAddress! + e * size).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        }
    }

    /// Takes entry `e` out of the table (its storage stays until overwritten).
    private mutating func remove(entry e: Int) {
        var i = entries[e].hash & mask
        while Int(table[i]) != e { i = (i + 1) & mask }
        // Backward-shift deletion: later entries of the run move up into the hole.
        var hole = i
        var j = (i + 1) & mask
        while table[j] >= 0 {
            let home = entries[Int(table[j])].hash & mask
            // Move j into the hole when its home is not cyclically in (hole, j].
            let between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !between {
                table[hole] = table[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        table[hole] = -1
    }

    /// Halves every count, error and the total; entries that reach zero are dropped.
    mutating func halve() {
        total /= 2
        var kept = 0
        for e in 0..<count where entries[e].count / 2 > 0 {
            if kept != e {
                entries[kept] = entries[e]
                let size = maxKeyBytes
                arena.withUnsafeMutableBytes { a in
                    (a.baseAddress! + kept * size).copyMemory(from: UnsafeRawPointer(a.baseAddress! + e * size),
                                                             byteCount: Int(entries[kept].length))
                }
            }
            entries[kept].count /= 2
            entries[kept].error /= 2
            kept += 1
        }
        count = kept
        rebuildTable()
    }

    private mutating func rebuildTable() {
        table.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
        for e in 0..<count {
            var i = entries[e].hash & mask
            while table[i] >= 0 { i = (i + 1) & mask }
            table[i] = Int32(e)
        }
    }

    /// Forgets everything, keeping the storage. A sketch reset soon after it was taken (most
    /// of them: an evicted route held a key or two) clears only its entries' slots.
    mutating func reset() {
        if count * 8 < table.count {
            for e in 0..<count {
                var i = entries[e].hash & mask
                while Int(table[i]) != e { i = (i + 1) & mask }
                table[i] = -1
            }
        } else {
            table.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
        }
        total = 0
        count = 0
    }

    /// The `k` largest entries, largest first (ties: smaller error first, then key bytes).
    func top(_ k: Int) -> [(key: [UInt8], truncated: Bool, count: UInt64, error: UInt64)] {
        let all = (0..<count).map { e in
            let entry = entries[e]
            return (key: Array(arena[(e * maxKeyBytes)..<(e * maxKeyBytes + Int(entry.length))]), truncated: entry.truncated,
                    count: entry.count, error: entry.error)
        }
        return Array(all.sorted { a, b in
            if a.count != b.count { return a.count > b.count }
            if a.error != b.error { return a.error < b.error }
            return a.key.lexicographicallyPrecedes(b.key)
        }.prefix(max(0, k)))
    }
}
