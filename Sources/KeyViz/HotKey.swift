/// One of a route's hottest keys, as estimated by a ``HotKeySampler``.
///
/// Counts are estimates from 1-in-R sampling fed to a space-saving sketch, scaled back to
/// operations (× R) and decayed by half every window. The true sampled count lies in
/// `[sampledCount - sampledError, sampledCount]`.
public struct HotKey: Sendable, Equatable {
    public var route: RouteID
    public var op: Op
    /// The key's bytes, cut at ``HotKeySamplerConfiguration/maxKeyBytes`` when ``truncated``.
    public var key: [UInt8]
    public var truncated: Bool
    /// Samples counted for this key (an overestimate by at most ``sampledError``).
    public var sampledCount: UInt64
    public var sampledError: UInt64
    /// Samples taken on this route and op in the same window.
    public var routeSamples: UInt64
    /// The sampling rate R: one observation in R was sampled.
    public var sampleEvery: Int

    public init(route: RouteID, op: Op, key: [UInt8], truncated: Bool, sampledCount: UInt64, sampledError: UInt64,
                routeSamples: UInt64, sampleEvery: Int) {
        self.route = route
        self.op = op
        self.key = key
        self.truncated = truncated
        self.sampledCount = sampledCount
        self.sampledError = sampledError
        self.routeSamples = routeSamples
        self.sampleEvery = sampleEvery
    }

    /// Estimated operations on this key: sampled count × R.
    public var estimatedOperations: UInt64 { sampledCount &* UInt64(sampleEvery) }

    /// Estimated share of the route's operations (of this op), 0…1.
    public var share: Double { routeSamples == 0 ? 0 : Double(sampledCount) / Double(routeSamples) }

    /// The share's possible overestimate from the sketch (sampling noise comes on top).
    public var shareErrorBound: Double { routeSamples == 0 ? 0 : Double(sampledError) / Double(routeSamples) }
}
