/// One downsampled tier of a ``HeatMatrixSampler``'s history: columns of `stepMilliseconds`,
/// `columns` of them kept.
///
/// Why tiers: a week of 1 s columns is 600 000 columns per route; a week of 10 min columns is
/// 1 008. Columns leave the finest ring into the next tier, where they are summed exactly into
/// columns aligned to wall-clock multiples of that tier's step (so every node cuts time at the
/// same instants), and so on to the coarsest tier, from which they are dropped.
public struct HistoryTier: Sendable, Hashable, CustomStringConvertible {
    /// Width of one column of this tier. Effective value: a multiple of the previous tier's step,
    /// larger than it (see ``HeatMatrixSamplerConfiguration/effectiveTiers``).
    public var stepMilliseconds: Int64
    /// Columns kept in this tier, clamped to 1…``HeatMatrixSamplerConfiguration/maxHistoryColumns``.
    public var columns: Int

    public init(stepMilliseconds: Int64, columns: Int) {
        self.stepMilliseconds = stepMilliseconds
        self.columns = columns
    }

    /// The time this tier spans when full.
    public var spanMilliseconds: Int64 { stepMilliseconds.multipliedReportingOverflow(by: Int64(columns)).partialValue }

    public var description: String { "\(stepMilliseconds) ms × \(columns)" }
}
