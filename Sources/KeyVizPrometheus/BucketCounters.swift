import KeyViz

/// The cumulative counters behind the bucket series, one per label of the current layout, and
/// what each label means.
///
/// Counters only ever grow: per-route deltas are folded into the bucket that holds the route
/// now, never recomputed from member totals.
///
/// *Exactness across layouts.* Each label also keeps the value the last render exported. When
/// a layout change drops a label, the part of its value no render has exported yet (counts
/// folded by `PrometheusSampler/currentLayout()` & co. or by a catalog change between two
/// scrapes) moves to the new bucket holding the dropped bucket's start key, so the next
/// render exports it; the label itself is *retired* at its last exported value. If the label
/// comes back it continues from that value. Hence, at every render, the last exported value of
/// every label ever exported plus unrouted equals everything observed.
///
/// *Retired labels* are kept in least-recently-retired order: at most `retiredCapacity`; past
/// that the one retired longest ago is forgotten (it restarts at 0 if it returns: the one
/// documented exception to monotonicity). The order list holds at most 2 × retired + 64
/// entries however often labels flap.
///
/// *Meaning.* A label that carries a hash (a truncated preview, or `.hashed` mode) may collide
/// with another key's. For every such label, live or retired, the registry remembers which
/// start key it names (the key itself while live, a length and a second keyed hash once
/// retired); a key whose label is taken by another key gets the next respelling, so a label
/// never names two start keys while it is remembered.
struct BucketCounters {
    private(set) var labels: [String] = []
    private(set) var values: [OpCounts] = []
    /// Per label, the value the last render exported.
    private(set) var exported: [OpCounts] = []
    /// Per label, which life of the label this is: a label created afresh (new, or back after
    /// its retired value was forgotten) gets a new number. Lets tests tell a documented
    /// restart from a decrease.
    private(set) var incarnations: [UInt64] = []
    private var lastIncarnation: UInt64 = 0

    private struct RetiredLabel {
        var value: OpCounts
        var stamp: UInt64
        var incarnation: UInt64
    }
    private var retired: [String: RetiredLabel] = [:]
    private var retiredOrder: [(label: String, stamp: UInt64)] = []   // oldest first; stale entries skipped
    private var retiredOrderHead = 0
    private var stamp: UInt64 = 0
    let retiredCapacity: Int

    /// What a hash-carrying label names.
    private enum Meaning {
        case live(key: [UInt8])
        case retired(hash: UInt64, length: Int, check: UInt64)
    }
    private var meaning: [String: Meaning] = [:]
    private let seed: UInt64

    init(retiredCapacity: Int, seed: UInt64 = 0) {
        self.retiredCapacity = max(0, retiredCapacity)
        self.seed = seed
    }

    var retiredCount: Int { retired.count }
    /// Entries in the retirement order list (live and stale), for tests of boundedness.
    var retiredOrderLength: Int { retiredOrder.count - retiredOrderHead }
    /// Labels whose meaning is remembered (live or retired hash-carrying labels).
    var rememberedMeanings: Int { meaning.count }

    /// Key bytes hashed by ``check(_:)`` so far (for tests of render cost).
    private(set) var hashedBytes = 0

    /// A second keyed hash of a key, independent of the layout hash: computed once when a
    /// label retires, and when a key meets a retired label with its spelling.
    private mutating func check(_ key: [UInt8]) -> UInt64 {
        hashedBytes += key.count
        return KeyHash.sip13(key, k0: 0x6b65_7976_697a_2d31 ^ seed, k1: 0x6c61_6265_6c2d_6d65 &+ seed)
    }

    private mutating func names(_ m: Meaning, key: [UInt8], hash: UInt64) -> Bool {
        switch m {
        case .live(let k): k == key
        case .retired(let h, let n, let c): h == hash && n == key.count && c == check(key)
        }
    }

    /// Labels for a new layout's bucket start keys (in key order): the first spelling of each
    /// key (its preview, then respellings) that the key already owns, else the first that no
    /// other remembered key owns. So a key keeps its label even after the key that pushed it
    /// to a respelling is forgotten.
    mutating func assignLabels(starts: [[UInt8]], hashes: [UInt64], mode: BucketLabelMode) -> [String] {
        var used = Set<String>()
        used.reserveCapacity(starts.count)
        var out: [String] = []
        out.reserveCapacity(starts.count)
        for (key, hash) in zip(starts, hashes) {
            let first = BucketLabeler.label(forStart: key, hash: hash, mode: mode)
            var chosen: String?
            var free: String?
            var candidate = first
            var attempt = 0
            // Spellings are tried in order; past the first free one, a few more are looked at
            // for one this key owns (respellings beyond the second need a 64-bit collision).
            while chosen == nil && (free == nil || attempt < Self.respellingsLookedAt) {
                if !used.contains(candidate) {
                    let carriesHash = mode == .hashed || candidate.utf8.contains(UInt8(ascii: "~"))
                    if !carriesHash {
                        chosen = candidate          // untruncated: the key's own, injective spelling
                    } else if let m = meaning[candidate] {
                        if names(m, key: key, hash: hash) { chosen = candidate }
                    } else if free == nil {
                        free = candidate
                    }
                }
                attempt += 1
                candidate = BucketLabeler.alternative(key, hash: hash, label: first, mode: mode, attempt: attempt)
            }
            let label = chosen ?? free!
            if mode == .hashed || label.utf8.contains(UInt8(ascii: "~")) { meaning[label] = .live(key: key) }
            used.insert(label)
            out.append(label)
        }
        return out
    }

    static let respellingsLookedAt = 3

    /// Switches to a new list of labels (in layout order), carrying values by label.
    /// `home(i)` is the index in `next` of the bucket holding old bucket `i`'s start key, and
    /// `start(i)`/`hash(i)` are old bucket `i`'s start key and layout hash.
    mutating func relabel(_ next: [String], home: (Int) -> Int, oldStart: (Int) -> [UInt8], oldHash: (Int) -> UInt64) {
        var current: [String: Int] = [:]
        current.reserveCapacity(labels.count)
        for (i, l) in labels.enumerated() { current[l] = i }
        var nextValues: [OpCounts] = []
        var nextExported: [OpCounts] = []
        var nextIncarnations: [UInt64] = []
        nextValues.reserveCapacity(next.count)
        nextExported.reserveCapacity(next.count)
        nextIncarnations.reserveCapacity(next.count)
        for l in next {
            if let i = current.removeValue(forKey: l) {
                nextValues.append(values[i])
                nextExported.append(exported[i])
                nextIncarnations.append(incarnations[i])
            } else if let r = retired.removeValue(forKey: l) {
                nextValues.append(r.value)
                nextExported.append(r.value)
                nextIncarnations.append(r.incarnation)
            } else {
                nextValues.append(.zero)
                nextExported.append(.zero)
                lastIncarnation &+= 1
                nextIncarnations.append(lastIncarnation)
            }
        }
        if !next.isEmpty {
            for (l, i) in current.sorted(by: { $0.value < $1.value }) {   // left the layout
                let unexported = values[i] - exported[i]
                if !unexported.isZero { nextValues[home(i)] += unexported }
                stamp &+= 1
                retired[l] = RetiredLabel(value: exported[i], stamp: stamp, incarnation: incarnations[i])
                retiredOrder.append((l, stamp))
                if case .live(let key)? = meaning[l] {
                    meaning[l] = .retired(hash: oldHash(i), length: key.count, check: check(key))
                } else if meaning[l] != nil || labelCarriesHash(l) {
                    let key = oldStart(i)
                    meaning[l] = .retired(hash: oldHash(i), length: key.count, check: check(key))
                }
            }
        }
        while retired.count > retiredCapacity, retiredOrderHead < retiredOrder.count {
            let (oldest, s) = retiredOrder[retiredOrderHead]
            retiredOrderHead += 1
            if retired[oldest]?.stamp == s {
                retired[oldest] = nil
                meaning[oldest] = nil
            }
        }
        if retiredOrder.count - retiredOrderHead > 2 * retired.count + 64 {
            retiredOrder = retiredOrder[retiredOrderHead...].filter { retired[$0.label]?.stamp == $0.stamp }
            retiredOrderHead = 0
        }
        labels = next
        values = nextValues
        exported = nextExported
        incarnations = nextIncarnations
    }

    private func labelCarriesHash(_ l: String) -> Bool { l.utf8.contains(UInt8(ascii: "~")) }

    @inline(__always)
    mutating func add(_ delta: OpCounts, toBucket index: Int) {
        values[index] += delta
    }

    /// The values as a buffer, for a fold that adds a batch of deltas in one loop.
    mutating func withValues<R>(_ body: (UnsafeMutableBufferPointer<OpCounts>) -> R) -> R {
        values.withUnsafeMutableBufferPointer { body($0) }
    }

    /// Records that a render is exporting the current values.
    mutating func markExported() {
        exported = values
    }
}
