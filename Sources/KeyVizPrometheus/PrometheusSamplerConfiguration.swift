import KeyViz

/// Settings of a ``PrometheusSampler``. Out-of-range values are clamped.
public struct PrometheusSamplerConfiguration: Sendable {
    /// Most bucket series per family, 1…4096 (default 256).
    public var bucketBudget: Int
    public var labelMode: BucketLabelMode
    /// Hot routes ranked per op, 0…100 (default 5).
    public var hotRoutes: Int
    /// Window of the hot-route rates, milliseconds (default 60 s).
    public var hotRouteWindowMilliseconds: Int64
    /// How long a route that left the catalog keeps its counter slot (default 10 s).
    public var graceMilliseconds: Int64
    /// Retired bucket labels remembered so they continue where they were if they come back.
    public var retiredLabelCapacity: Int
    /// Counter stripes per route (power of two); default: online CPUs rounded up.
    public var stripes: Int
    /// Include the standard `process_*` families.
    public var processMetrics: Bool
    /// Wall clock, Unix milliseconds (injectable for tests).
    public var now: @Sendable () -> Int64

    public init(bucketBudget: Int = 256, labelMode: BucketLabelMode = .keyPreview, hotRoutes: Int = 5,
                hotRouteWindowMilliseconds: Int64 = 60_000, graceMilliseconds: Int64 = 10_000,
                retiredLabelCapacity: Int = 16_384, stripes: Int? = nil, processMetrics: Bool = true,
                now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds) {
        self.bucketBudget = min(4096, max(1, bucketBudget))
        self.labelMode = labelMode
        self.hotRoutes = min(100, max(0, hotRoutes))
        self.hotRouteWindowMilliseconds = max(1_000, hotRouteWindowMilliseconds)
        self.graceMilliseconds = max(0, graceMilliseconds)
        self.retiredLabelCapacity = max(0, retiredLabelCapacity)
        self.stripes = stripes ?? 0
        self.processMetrics = processMetrics
        self.now = now
    }
}
