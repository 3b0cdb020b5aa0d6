public import KeyViz

/// Which routes go into which bucket: at most `budget` buckets of adjacent routes.
///
/// Content-defined boundaries. Each route start key gets a deterministic 64-bit hash (keyed by
/// the cluster-wide layout seed, see `PrometheusSamplerConfiguration/layoutSeed`); a start
/// key is a boundary at level ℓ when its hash has at least ℓ trailing zero bits, and the first
/// route's start is always a boundary. The layout uses the smallest ℓ whose boundary count is
/// ≤ budget. Why this meets the five properties:
/// 1. *Bound*: ℓ is chosen so the count is ≤ budget (at ℓ = 65 only the first start qualifies).
/// 2. *Deterministic*: boundaries depend only on the start keys, the budget and the seed — not on
///    traffic, timing, or the order routes were registered.
/// 3. *Stable*: a split adds one start key, a merge removes one. Unless that key is a boundary
///    (probability 2^-ℓ) no bucket's key range changes at all; if it is, one bucket splits or
///    two merge — two labels change. Level changes (the count crossing the budget) are the only
///    wide changes, and boundaries at ℓ+1 are a subset of those at ℓ, so the labels that
///    survive keep their meaning.
/// A bucket's range is `[its boundary, the next boundary)`, the last ending where the catalog ends.
public struct BucketLayout: Sendable, Equatable {
    public struct Bucket: Sendable, Equatable {
        public var label: String
        public var start: [UInt8]
        /// Exclusive end; empty means +infinity.
        public var end: [UInt8]
        /// Number of routes whose start lies in the bucket.
        public var routeCount: Int
    }

    public private(set) var buckets: [Bucket]
    public private(set) var level: Int
    public let budget: Int

    public static let budgetRange = 1...4096

    public init(catalog: RouteCatalog, budget: Int, labelMode: BucketLabelMode = .keyPreview, seed: UInt64 = 0) {
        self = Self.build(catalog: catalog, budget: budget, labelMode: labelMode, seed: seed).layout
    }

    /// Per bucket, the layout hash of its start key (the labeler and info lines reuse it, so no
    /// key is hashed twice).
    private(set) var startHashes: [UInt64] = []

    /// The layout, and for each catalog route (in catalog order) the index of its bucket: the
    /// decorator seeds its route → bucket cache from it without comparing keys.
    static func build(catalog: RouteCatalog, budget: Int, labelMode: BucketLabelMode, seed: UInt64) -> (layout: BucketLayout, routeBuckets: [Int32], hashedBytes: Int) {
        let budget = min(Self.budgetRange.upperBound, max(Self.budgetRange.lowerBound, budget))
        let routes = catalog.routes
        // Trailing-zero count of each start's hash (the first route is always a boundary).
        var hashes = [UInt64](repeating: 0, count: routes.count)
        var atLeast = [Int](repeating: 0, count: 66)   // atLeast[l] = starts (after the first) with tz >= l
        var hashedBytes = 0
        for i in routes.indices {
            hashedBytes += routes[i].start.count
            hashes[i] = KeyHash.hash(routes[i].start, seed: seed)
            if i > 0 { atLeast[hashes[i].trailingZeroBitCount] += 1 }   // 64 when the hash is 0
        }
        for l in stride(from: 64, through: 0, by: -1) { atLeast[l] += atLeast[l + 1] }
        var level = 0
        while level < 65 && 1 + atLeast[level] > budget { level += 1 }

        var starts: [[UInt8]] = []
        var startHashes: [UInt64] = []
        var counts: [Int] = []
        var routeBuckets = [Int32](repeating: 0, count: routes.count)
        for (i, r) in routes.enumerated() {
            if i == 0 || hashes[i].trailingZeroBitCount >= level {
                starts.append(r.start)
                startHashes.append(hashes[i])
                counts.append(1)
            } else {
                counts[counts.count - 1] += 1
            }
            routeBuckets[i] = Int32(starts.count - 1)
        }
        let labels = BucketLabeler.uniqueLabels(starts, hashes: startHashes, mode: labelMode)
        var buckets: [Bucket] = []
        buckets.reserveCapacity(starts.count)
        for i in starts.indices {
            let end = i + 1 < starts.count ? starts[i + 1] : (routes.last?.end ?? [])
            buckets.append(Bucket(label: labels[i], start: starts[i], end: end, routeCount: counts[i]))
        }
        var layout = BucketLayout(emptyWithBudget: budget)
        layout.buckets = buckets
        layout.level = level
        layout.startHashes = startHashes
        return (layout, routeBuckets, hashedBytes)
    }

    /// The same layout with other labels (one per bucket, in order).
    func relabeled(_ labels: [String]) -> BucketLayout {
        var copy = self
        for i in copy.buckets.indices { copy.buckets[i].label = labels[i] }
        return copy
    }

    /// No buckets: the layout before any catalog is known.
    init(emptyWithBudget budget: Int) {
        buckets = []
        level = 0
        self.budget = budget
    }

    /// The index of the bucket holding `key`: the last bucket starting at or before it (keys
    /// before the first bucket, which only retired routes can have, go to the first).
    public func bucketIndex(forKey key: [UInt8]) -> Int {
        var lo = 0, hi = buckets.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if key.lexicographicallyPrecedes(buckets[mid].start) { hi = mid } else { lo = mid + 1 }
        }
        return max(0, lo - 1)
    }

    /// Labels whose key range differs between two layouts: added, removed, or with another
    /// start or end. The churn figure of a route change.
    public static func changedLabels(from old: BucketLayout, to new: BucketLayout) -> Set<String> {
        var before: [String: ([UInt8], [UInt8])] = [:]
        for b in old.buckets { before[b.label] = (b.start, b.end) }
        var changed = Set<String>()
        for b in new.buckets {
            if let (s, e) = before.removeValue(forKey: b.label) {
                if s != b.start || e != b.end { changed.insert(b.label) }
            } else {
                changed.insert(b.label)
            }
        }
        changed.formUnion(before.keys)
        return changed
    }
}
