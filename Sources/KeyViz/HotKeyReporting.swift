/// Something that can tell the hottest keys it has seen: a ``HotKeySampler``, seen by the
/// exporters (Prometheus, the matrix API) without knowing its generic parameter.
public protocol HotKeyReporting: Sendable {
    /// The hottest keys of `op` across every tracked route, hottest first.
    func hottestKeys(op: Op, limit: Int?) -> [HotKey]
    /// The hottest keys of one route (both ops, or `op`), hottest first.
    func hotKeys(route: RouteID, op: Op?) -> [HotKey]
    /// Where to split the hottest routes (of `op`, or of both ops), hottest first. Advice only.
    func splitAdvice(op: Op?) -> [SplitAdvice]
    /// Samples taken into the sketches, and samples dropped (queue full or busy).
    var sampleCounts: (taken: UInt64, dropped: UInt64) { get }
    /// The sampling rate R: one key-carrying observation in R per thread is sampled.
    var sampleEvery: Int { get }
}

extension HotKeySampler: HotKeyReporting {}
