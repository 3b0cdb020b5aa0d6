public import KeyViz

/// When a coordinator acts on split advice (the demo's `--auto-split`): split the hottest
/// route at the advised key only when the advice has named the same route for several updates
/// in a row (not a passing burst), predicts a good balance, and the last split is a cooldown
/// ago (so it does not flap while the heat map catches up). KeyViz only advises; this is host
/// policy, kept apart from the I/O so a test can drive it with made-up advice.
public struct AutoSplitPolicy: Sendable {
    /// Updates in a row that must name the same route.
    public var stableUpdates = 3
    public var cooldownMs: Int64
    public var minBalance: Double
    /// No more routes than this (a bound on what a long run can do to the catalog).
    public var maxRoutes: Int

    private var candidate: RouteID?
    private var seen = 0
    private var lastSplitMs: Int64?

    public init(cooldownMs: Int64, minBalance: Double, maxRoutes: Int) {
        self.cooldownMs = cooldownMs
        self.minBalance = minBalance
        self.maxRoutes = maxRoutes
    }

    /// The advice to act on now, or nil. `advice` is one update (both ops); the candidate is
    /// the rank-1 advice with the most samples behind it.
    public mutating func consider(_ advice: [SplitAdvice], nowMs: Int64, routes: Int) -> SplitAdvice? {
        let top = advice.filter { $0.rank == 1 }.max { $0.samples < $1.samples }
        guard let top, top.verdict == .split, top.balance >= minBalance else {
            candidate = nil
            seen = 0
            return nil
        }
        if top.route == candidate { seen += 1 } else { candidate = top.route; seen = 1 }
        guard seen >= stableUpdates, routes < maxRoutes else { return nil }
        if let last = lastSplitMs, nowMs - last < cooldownMs { return nil }
        lastSplitMs = nowMs
        candidate = nil
        seen = 0
        return top
    }
}
