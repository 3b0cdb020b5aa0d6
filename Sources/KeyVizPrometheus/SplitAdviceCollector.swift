public import KeyViz

/// Exports split advice for the hottest routes: at most K series per op, identified by `op`
/// and `rank` only (bounded whatever the routes), the predicted balance as a gauge and the key
/// in an info series spelled as hot keys are (``HotKeyCollector``: a bucket-label preview, or
/// a hash in ``BucketLabelMode/hashed`` mode so key bytes never reach Prometheus).
/// Routes without enough samples yet are left out.
///
/// Register it on the `PrometheusSampler` that serves `/metrics`:
/// `prometheus.register(SplitAdviceCollector(source: hotKeys))`.
public struct SplitAdviceCollector: MetricsCollector {
    public let source: any HotKeyReporting
    public let ranks: Int
    public let labelMode: BucketLabelMode

    /// - Parameters:
    ///   - source: the hot-key sampler (any `HotKeyReporting`) to read at each render.
    ///   - ranks: routes exported per op, clamped to 0…100 where used (the sampler advises at
    ///     most its configuration's `splitAdviceRoutes`).
    ///   - labelMode: `.hashed` exports a hash of each key instead of its bytes.
    public init(source: any HotKeyReporting, ranks: Int = 5, labelMode: BucketLabelMode = .keyPreview) {
        self.source = source
        self.ranks = ranks
        self.labelMode = labelMode
    }

    public func collect() -> [MetricFamily] {
        let k = min(100, max(0, ranks))
        var balance: [MetricSample] = []
        var info: [MetricSample] = []
        for advice in source.splitAdvice(op: nil) where advice.rank <= k && advice.verdict != .tooFewSamples {
            let labels = [(name: "op", value: advice.op.description), (name: "rank", value: String(advice.rank))]
            balance.append(MetricSample(labels: labels, value: .double(advice.balance)))
            let key = BucketLabeler.keyLabel(advice.key, mode: labelMode)
            info.append(MetricSample(labels: labels + [(name: "route", value: String(advice.route.rawValue)),
                                                      (name: "verdict", value: advice.verdict.rawValue),
                                                      (name: "key", value: key),
                                                      (name: "truncated", value: advice.truncated ? "true" : "false")],
                                     value: .integer(1)))
        }
        return [
            MetricFamily(unchecked: "keyviz_split_advice_balance", help: Help.balance, type: .gauge, samples: balance),
            MetricFamily(unchecked: "keyviz_split_advice_info", help: Help.info, type: .gauge, samples: info),
        ]
    }

    private enum Help {
        static let balance = "Predicted balance of splitting the route at this rank at the advised key: 1 = halves, 0 = one side takes all."
        static let info = "The advised split (verdict split) or the single hot key (verdict single_hot_key) of the route at each rank, by op."
    }
}
