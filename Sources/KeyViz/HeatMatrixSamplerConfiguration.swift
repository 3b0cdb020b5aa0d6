/// Settings of a ``HeatMatrixSampler``. Out-of-range values are clamped, never rejected.
public struct HeatMatrixSamplerConfiguration: Sendable {
    /// Width of one heat-matrix column: the flush interval. Library default 60 s.
    public var stepMilliseconds: Int64
    /// Columns kept in the ring, clamped to 1…100 000. Default 1440 (a day of minutes).
    public var historyColumns: Int
    /// How long a route that left the catalog stays mapped so late observations still land on
    /// it. Default max(2 × step, 5 s).
    public var graceMilliseconds: Int64?
    /// Counter stripes per route (power of two); default: online CPUs rounded up.
    public var stripes: Int
    /// The clock for column timestamps, Unix milliseconds (injectable for tests).
    public var now: @Sendable () -> Int64
    /// Downsampled tiers after the finest ring (`stepMilliseconds` × `historyColumns`), finest
    /// first. Columns leaving the finest ring are summed exactly into the first tier's columns,
    /// and so on. Library default: none, so memory stays what `historyColumns` says; a host that
    /// wants days of history adds, say, `[.init(stepMilliseconds: 600_000, columns: 1008)]`
    /// (a week of 10 min columns). Validated where used: see ``effectiveTiers``.
    public var coarserTiers: [HistoryTier]
    /// Route change events kept for the time axis (``HeatMatrixSampler/routeChanges``),
    /// clamped to 1…1 000 000. Default ``RouteChangeLog/defaultCapacity``. The ring holds up
    /// to 64 routes per side of an event, so a host with heavy churn sizes it by memory.
    public var routeChangeEvents: Int

    public static let maxHistoryColumns = 100_000
    /// Coarser tiers beyond this many are ignored.
    public static let maxCoarserTiers = 8
    /// The widest step a tier may have (366 days): keeps step arithmetic far from overflow.
    public static let maxTierStepMilliseconds: Int64 = 366 * 86_400_000

    public init(stepMilliseconds: Int64 = 60_000, historyColumns: Int = 1440, graceMilliseconds: Int64? = nil,
                stripes: Int? = nil, coarserTiers: [HistoryTier] = [],
                routeChangeEvents: Int = RouteChangeLog.defaultCapacity,
                now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds) {
        self.stepMilliseconds = stepMilliseconds
        self.historyColumns = historyColumns
        self.graceMilliseconds = graceMilliseconds
        self.stripes = stripes ?? ThreadStripe.defaultCount
        self.coarserTiers = coarserTiers
        self.routeChangeEvents = routeChangeEvents
        self.now = now
    }

    var effectiveStep: Int64 { max(1, stepMilliseconds) }
    var effectiveHistory: Int { min(Self.maxHistoryColumns, max(1, historyColumns)) }
    var effectiveGrace: Int64 { graceMilliseconds.map { max(0, $0) } ?? max(2 * effectiveStep, 5_000) }

    /// Every tier as the sampler uses it, finest first: the finest ring (`stepMilliseconds` ×
    /// `historyColumns`, clamped as above), then `coarserTiers` made valid: a step of 0 or less
    /// drops its tier; a step that is not a multiple of the previous tier's step, or not larger,
    /// is rounded up to the next multiple that is; steps stop at ``maxTierStepMilliseconds``
    /// (tiers past it are dropped); columns are clamped to 1…``maxHistoryColumns``; tiers past
    /// ``maxCoarserTiers`` are dropped. ``tierProblems`` names each such change.
    public var effectiveTiers: [HistoryTier] { validatedTiers().tiers }

    /// One line per change ``effectiveTiers`` made to the configured tiers (empty when they are
    /// used as given), for hosts that would rather refuse a configuration than have it adjusted.
    public var tierProblems: [String] { validatedTiers().problems }

    private func validatedTiers() -> (tiers: [HistoryTier], problems: [String]) {
        var tiers = [HistoryTier(stepMilliseconds: min(effectiveStep, Self.maxTierStepMilliseconds), columns: effectiveHistory)]
        var problems: [String] = []
        for (i, t) in coarserTiers.enumerated() {
            let name = "tier \(i + 1) (\(t))"
            guard tiers.count <= Self.maxCoarserTiers else {
                problems.append("\(name): more than \(Self.maxCoarserTiers) coarser tiers, dropped")
                break
            }
            guard t.stepMilliseconds > 0 else {
                problems.append("\(name): the step must be positive; dropped")
                continue
            }
            let previous = tiers[tiers.count - 1].stepMilliseconds
            var step = min(t.stepMilliseconds, Self.maxTierStepMilliseconds)
            if step % previous != 0 || step <= previous {
                step = max(2, (step + previous - 1) / previous) * previous
                problems.append("\(name): the step must be a multiple of \(previous) ms larger than it; using \(step) ms")
            }
            guard step <= Self.maxTierStepMilliseconds else {
                problems.append("\(name): the step exceeds \(Self.maxTierStepMilliseconds) ms; dropped")
                break
            }
            let columns = min(Self.maxHistoryColumns, max(1, t.columns))
            if columns != t.columns {
                problems.append("\(name): columns must be in 1…\(Self.maxHistoryColumns); using \(columns)")
            }
            tiers.append(HistoryTier(stepMilliseconds: step, columns: columns))
        }
        return (tiers, problems)
    }
}
