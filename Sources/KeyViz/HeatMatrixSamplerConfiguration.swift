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

    public static let maxHistoryColumns = 100_000

    public init(stepMilliseconds: Int64 = 60_000, historyColumns: Int = 1440, graceMilliseconds: Int64? = nil,
                stripes: Int? = nil, now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds) {
        self.stepMilliseconds = stepMilliseconds
        self.historyColumns = historyColumns
        self.graceMilliseconds = graceMilliseconds
        self.stripes = stripes ?? ThreadStripe.defaultCount
        self.now = now
    }

    var effectiveStep: Int64 { max(1, stepMilliseconds) }
    var effectiveHistory: Int { min(Self.maxHistoryColumns, max(1, historyColumns)) }
    var effectiveGrace: Int64 { graceMilliseconds.map { max(0, $0) } ?? max(2 * effectiveStep, 5_000) }
}
