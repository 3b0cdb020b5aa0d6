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
    private var counts: [UInt64]
    private var errors: [UInt64]
    private var lengths: [UInt16]
    private var truncated: [Bool]
    private var hashes: [Int]
    private var arena: [UInt8]
    /// Entry number per slot, -1 empty; linear probing, deletion by backward shift.
    private var table: [Int32]
    private let mask: Int

    init(capacity: Int, maxKeyBytes: Int) {
        self.capacity = max(1, capacity)
        self.maxKeyBytes = max(0, min(Int(UInt16.max), maxKeyBytes))
        counts = Array(repeating: 0, count: self.capacity)
        errors = Array(repeating: 0, count: self.capacity)
        lengths = Array(repeating: 0, count: self.capacity)
        truncated = Array(repeating: false, count: self.capacity)
        hashes = Array(repeating: 0, count: self.capacity)
        arena = Array(repeating: 0, count: self.capacity * self.maxKeyBytes)
        var slots = 4
        while slots < 2 * self.capacity { slots *= 2 }
        table = Array(repeating: -1, count: slots)
        mask = slots - 1
    }

    var isEmpty: Bool { count == 0 }

    private static func hash(_ key: UnsafeRawBufferPointer, _ cut: Bool) -> Int {
        var h = Hasher()
        h.combine(bytes: key)
        h.combine(cut)
        return h.finalize()
    }

    private func matches(_ e: Int, _ key: UnsafeRawBufferPointer, _ cut: Bool, _ h: Int) -> Bool {
        guard hashes[e] == h, Int(lengths[e]) == key.count, truncated[e] == cut else { return false }
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
        let key = UnsafeRawBufferPointer(rebasing: fullKey.prefix(maxKeyBytes))
        let cut = cut || fullKey.count > maxKeyBytes
        total &+= 1
        let h = Self.hash(key, cut)
        let (slot, found) = probe(key, cut, h)
        if found {
            counts[Int(table[slot])] &+= 1
            return
        }
        if count < capacity {
            store(key, cut, h, at: count, count: 1, error: 0)
            table[slot] = Int32(count)
            count += 1
            return
        }
        var m = 0
        for i in 1..<count where counts[i] < counts[m] { m = i }
        remove(entry: m)
        let floor = counts[m]
        store(key, cut, h, at: m, count: floor &+ 1, error: floor)
        table[probe(key, cut, h).slot] = Int32(m)
    }

    private mutating func store(_ key: UnsafeRawBufferPointer, _ cut: Bool, _ h: Int, at e: Int, count c: UInt64, error: UInt64) {
        counts[e] = c
        errors[e] = error
        lengths[e] = UInt16(key.count)
        truncated[e] = cut
        hashes[e] = h
        if key.count > 0 {
            let size = maxKeyBytes
            arena.withUnsafeMutableBytes { a in (a.baseAddress! + e * size).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        }
    }

    /// Takes entry `e` out of the table (its storage stays until overwritten).
    private mutating func remove(entry e: Int) {
        var i = hashes[e] & mask
        while Int(table[i]) != e { i = (i + 1) & mask }
        // Backward-shift deletion: later entries of the run move up into the hole.
        var hole = i
        var j = (i + 1) & mask
        while table[j] >= 0 {
            let home = hashes[Int(table[j])] & mask
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
        for e in 0..<count where counts[e] / 2 > 0 {
            if kept != e {
                counts[kept] = counts[e]
                errors[kept] = errors[e]
                lengths[kept] = lengths[e]
                truncated[kept] = truncated[e]
                hashes[kept] = hashes[e]
                let size = maxKeyBytes
                arena.withUnsafeMutableBytes { a in
                    (a.baseAddress! + kept * size).copyMemory(from: UnsafeRawPointer(a.baseAddress! + e * size), byteCount: Int(lengths[kept]))
                }
            }
            counts[kept] /= 2
            errors[kept] /= 2
            kept += 1
        }
        count = kept
        rebuildTable()
    }

    private mutating func rebuildTable() {
        for i in table.indices { table[i] = -1 }
        for e in 0..<count {
            var i = hashes[e] & mask
            while table[i] >= 0 { i = (i + 1) & mask }
            table[i] = Int32(e)
        }
    }

    /// Forgets everything, keeping the storage.
    mutating func reset() {
        total = 0
        count = 0
        for i in table.indices { table[i] = -1 }
    }

    /// The `k` largest entries, largest first (ties: smaller error first, then key bytes).
    func top(_ k: Int) -> [(key: [UInt8], truncated: Bool, count: UInt64, error: UInt64)] {
        let all = (0..<count).map { e in
            (key: Array(arena[(e * maxKeyBytes)..<(e * maxKeyBytes + Int(lengths[e]))]), truncated: truncated[e],
             count: counts[e], error: errors[e])
        }
        return Array(all.sorted { a, b in
            if a.count != b.count { return a.count > b.count }
            if a.error != b.error { return a.error < b.error }
            return a.key.lexicographicallyPrecedes(b.key)
        }.prefix(max(0, k)))
    }
}
