public import KeyViz

/// Settings of a `PrometheusSampler`. Out-of-range values are clamped where they are used
/// (the properties can be set after `init`, so `init` alone cannot guard them).
public struct PrometheusSamplerConfiguration: Sendable {
    /// Most bucket series per family, 1…4096 (default 256).
    public var bucketBudget: Int
    public var labelMode: BucketLabelMode
    /// Hot routes ranked per op, 0…100 (default 5).
    public var hotRoutes: Int
    /// Window of the hot-route rates, milliseconds, at least 1 s (default 60 s).
    public var hotRouteWindowMilliseconds: Int64
    /// How long a route that left the catalog keeps its counter slot, at least 0 (default 10 s).
    public var graceMilliseconds: Int64
    /// Retired bucket labels remembered so they continue where they were if they come back
    /// (at least 0, default 16 384).
    public var retiredLabelCapacity: Int
    /// Counter stripes per route (power of two); default: online CPUs rounded up.
    public var stripes: Int
    /// Include the standard `process_*` families.
    public var processMetrics: Bool
    /// Keys the hash that picks bucket boundaries and spells truncated labels. Must be the same
    /// on every node of a cluster (labels are compared across nodes). 0, the default, is the
    /// public unkeyed hash: no configuration needed, but a client that chooses its keys can
    /// choose boundary hashes and collapse the layout into one bucket (the bound still holds;
    /// the view becomes useless). Any other value keys SipHash-1-3 with it: keep it secret
    /// where clients choose keys. Changing it relabels every bucket.
    public var layoutSeed: UInt64
    /// Wall clock, Unix milliseconds (injectable for tests).
    public var now: @Sendable () -> Int64

    public static let hotRoutesRange = 0...100

    public init(bucketBudget: Int = 256, labelMode: BucketLabelMode = .keyPreview, hotRoutes: Int = 5,
                hotRouteWindowMilliseconds: Int64 = 60_000, graceMilliseconds: Int64 = 10_000,
                retiredLabelCapacity: Int = 16_384, stripes: Int? = nil, processMetrics: Bool = true,
                layoutSeed: UInt64 = 0, now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds) {
        self.bucketBudget = bucketBudget
        self.labelMode = labelMode
        self.hotRoutes = hotRoutes
        self.hotRouteWindowMilliseconds = hotRouteWindowMilliseconds
        self.graceMilliseconds = graceMilliseconds
        self.retiredLabelCapacity = retiredLabelCapacity
        self.stripes = stripes ?? 0
        self.processMetrics = processMetrics
        self.layoutSeed = layoutSeed
        self.now = now
    }

    // The values in force: every use goes through these.
    var effectiveBudget: Int { min(BucketLayout.budgetRange.upperBound, max(BucketLayout.budgetRange.lowerBound, bucketBudget)) }
    var effectiveHotRoutes: Int { min(Self.hotRoutesRange.upperBound, max(Self.hotRoutesRange.lowerBound, hotRoutes)) }
    var effectiveHotWindow: Int64 { max(1_000, hotRouteWindowMilliseconds) }
    var effectiveGrace: Int64 { max(0, graceMilliseconds) }
    var effectiveRetiredCapacity: Int { max(0, retiredLabelCapacity) }
}
