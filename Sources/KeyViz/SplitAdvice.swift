/// Where to split a hot route so its load is shared evenly, from the keys sampled on it.
///
/// KeyViz only advises: a host that wants to act subscribes (``HotKeySampler/splitAdviceUpdates(every:)``)
/// and splits through its own coordinator, with its own hysteresis.
public struct SplitAdvice: Sendable, Equatable {
    /// What the samples say about splitting the route.
    public enum Verdict: String, Sendable, Equatable {
        /// ``key`` splits the load within the stated balance.
        case split
        /// One key carries so much of the load that no split inside the route leaves both sides
        /// a fair share (best balance below 0.5): ``key`` is that key. Splitting around it would
        /// only move it; cache it or spread it in the application instead.
        case singleHotKey = "single_hot_key"
        /// Fewer samples than ``HotKeySamplerConfiguration/splitMinSamples``: no advice yet.
        case tooFewSamples = "too_few_samples"
    }

    public var route: RouteID
    public var op: Op
    /// 1 = the tracked route with the most sampled operations of `op` (by its guaranteed count).
    public var rank: Int
    public var verdict: Verdict
    /// The advised split key (the new right-hand route starts here; strictly inside the
    /// route's range), the hot key for ``Verdict/singleHotKey``, empty for ``Verdict/tooFewSamples``.
    public var key: [UInt8]
    /// The key was cut at ``HotKeySamplerConfiguration/maxKeyBytes``: it is a prefix of the sampled key.
    public var truncated: Bool
    /// Predicted share of the route's load (of `op`) below ``key``, from the samples.
    public var leftShare: Double
    /// About 95% bound on ``leftShare``'s error from sampling: 2·√(p(1−p)/n) + 1/n.
    public var leftShareErrorBound: Double
    /// Keys behind the advice (the route's reservoir of sampled keys).
    public var samples: Int
    /// The route's range when the advice was made.
    public var routeStart: [UInt8]
    public var routeEnd: [UInt8]

    public init(route: RouteID, op: Op, rank: Int, verdict: Verdict, key: [UInt8], truncated: Bool, leftShare: Double,
                leftShareErrorBound: Double, samples: Int, routeStart: [UInt8], routeEnd: [UInt8]) {
        self.route = route
        self.op = op
        self.rank = rank
        self.verdict = verdict
        self.key = key
        self.truncated = truncated
        self.leftShare = leftShare
        self.leftShareErrorBound = leftShareErrorBound
        self.samples = samples
        self.routeStart = routeStart
        self.routeEnd = routeEnd
    }

    /// 1 when the split halves the load, 0 when one side gets all of it: 1 − |2·leftShare − 1|.
    public var balance: Double { max(0, 1 - abs(2 * leftShare - 1)) }
}
