public import KeyViz

/// Exports a node's hottest keys: at most K series per op, identified by `op` and `rank` only,
/// with the key itself in an info series (spelled like bucket labels, or hashed in
/// ``BucketLabelMode/hashed`` mode so key bytes never reach Prometheus).
///
/// Register it on the `PrometheusSampler` that serves `/metrics`:
/// `prometheus.register(HotKeyCollector(source: hotKeys))`.
public struct HotKeyCollector: MetricsCollector {
    public let source: any HotKeyReporting
    public let ranks: Int
    public let labelMode: BucketLabelMode

    /// - Parameters:
    ///   - source: the hot-key sampler (any `HotKeyReporting`) to read at each render.
    ///   - ranks: hot keys exported per op, clamped to 0…100 where used.
    ///   - labelMode: `.hashed` exports a hash of each key instead of its bytes.
    public init(source: any HotKeyReporting, ranks: Int = 5, labelMode: BucketLabelMode = .keyPreview) {
        self.source = source
        self.ranks = ranks
        self.labelMode = labelMode
    }

    public func collect() -> [MetricFamily] {
        let k = min(100, max(0, ranks))
        var share: [MetricSample] = []
        var operations: [MetricSample] = []
        var info: [MetricSample] = []
        for op in Op.allCases {
            for (i, hot) in source.hottestKeys(op: op, limit: k).enumerated() {
                let rank = (name: "rank", value: String(i + 1))
                let opLabel = (name: "op", value: op.description)
                share.append(MetricSample(labels: [opLabel, rank], value: .double(hot.share)))
                operations.append(MetricSample(labels: [opLabel, rank], value: .integer(hot.estimatedOperations)))
                let key = BucketLabeler.keyLabel(hot.key, mode: labelMode)
                info.append(MetricSample(labels: [opLabel, rank, (name: "key", value: key),
                                                  (name: "truncated", value: hot.truncated ? "true" : "false")],
                                         value: .integer(1)))
            }
        }
        let counts = source.sampleCounts
        return [
            MetricFamily(unchecked: "keyviz_hot_key_info", help: Help.info, type: .gauge, samples: info),
            MetricFamily(unchecked: "keyviz_hot_key_operations", help: Help.operations, type: .gauge, samples: operations),
            MetricFamily(unchecked: "keyviz_hot_key_route_share", help: Help.share, type: .gauge, samples: share),
            MetricFamily(unchecked: "keyviz_hot_key_samples_dropped_total", help: Help.dropped, type: .counter,
                         samples: [MetricSample(value: .integer(counts.dropped))]),
            MetricFamily(unchecked: "keyviz_hot_key_samples_total", help: Help.samples, type: .counter,
                         samples: [MetricSample(value: .integer(counts.taken))]),
        ]
    }

    private enum Help {
        static let info = "The key at each hot-key rank (1 = hottest), by op; the key in the key label."
        static let operations = "Estimated operations on the key at this rank in the current window (samples x sampling rate)."
        static let share = "Estimated share of its route's operations (of this op) taken by the key at this rank."
        static let dropped = "Hot-key samples dropped because a per-thread queue was full or busy."
        static let samples = "Hot-key samples fed to the sketches."
    }
}
