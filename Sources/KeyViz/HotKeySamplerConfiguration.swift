/// Settings of a ``HotKeySampler``. Every value is clamped where it is used, so a value set
/// after `init` can never crash the sampler.
public struct HotKeySamplerConfiguration: Sendable {
    /// Sample one observation in R per thread (1…1 048 576). Default 64.
    public var sampleEvery: Int
    /// Keys ranked per route and op (1…100). Default 10.
    public var topKeys: Int
    /// Counters per route sketch (≥ topKeys, ≤ 4 096): a key whose share of the route's samples
    /// exceeds 1 / capacity is always tracked. Default 64.
    public var sketchCapacity: Int
    /// Route and op pairs with a sketch at once (1…1 024): the hottest, by a space-saving
    /// count over routes. Default 16.
    public var trackedRoutes: Int
    /// Key bytes kept per sample (1…1 024); longer keys are cut and marked. Default 64.
    public var maxKeyBytes: Int
    /// Samples each per-thread queue holds between drains (1…65 536); more are dropped and
    /// counted. Default 256.
    public var queueCapacity: Int
    /// Routes per op that get split advice, hottest first (1…100). Default 5.
    public var splitAdviceRoutes: Int
    /// Sampled keys kept per tracked route and op for split advice (16…4 096), a uniform
    /// sample of its samples: the advice's error bound shrinks as 1/√size. Default 1 024.
    public var splitReservoirSize: Int
    /// Samples a route needs before it is advised (1…the reservoir size). Default 64.
    public var splitMinSamples: Int
    /// Every window, counts are halved (older traffic weighs less). Default 60 s; 0 = never.
    public var windowMilliseconds: Int64
    /// The clock (Unix milliseconds), injectable for tests.
    public var now: @Sendable () -> Int64

    public init(sampleEvery: Int = 64, topKeys: Int = 10, sketchCapacity: Int = 64, trackedRoutes: Int = 16,
                maxKeyBytes: Int = 64, queueCapacity: Int = 256, splitAdviceRoutes: Int = 5, splitReservoirSize: Int = 1_024,
                splitMinSamples: Int = 64, windowMilliseconds: Int64 = 60_000,
                now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds) {
        self.sampleEvery = sampleEvery
        self.topKeys = topKeys
        self.sketchCapacity = sketchCapacity
        self.trackedRoutes = trackedRoutes
        self.maxKeyBytes = maxKeyBytes
        self.queueCapacity = queueCapacity
        self.splitAdviceRoutes = splitAdviceRoutes
        self.splitReservoirSize = splitReservoirSize
        self.splitMinSamples = splitMinSamples
        self.windowMilliseconds = windowMilliseconds
        self.now = now
    }

    var effectiveSampleEvery: Int { min(1 << 20, max(1, sampleEvery)) }
    var effectiveTopKeys: Int { min(100, max(1, topKeys)) }
    var effectiveSketchCapacity: Int { min(4096, max(effectiveTopKeys, sketchCapacity)) }
    var effectiveTrackedRoutes: Int { min(1024, max(1, trackedRoutes)) }
    var effectiveMaxKeyBytes: Int { min(1024, max(1, maxKeyBytes)) }
    var effectiveQueueCapacity: Int { min(65_536, max(1, queueCapacity)) }
    var effectiveSplitAdviceRoutes: Int { min(100, max(1, splitAdviceRoutes)) }
    var effectiveSplitReservoirSize: Int { min(4096, max(16, splitReservoirSize)) }
    var effectiveSplitMinSamples: Int { min(effectiveSplitReservoirSize, max(1, splitMinSamples)) }
}
