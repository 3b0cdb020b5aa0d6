import KeyViz
import Logging

/// Everything a `PrometheusSampler` keeps behind its render lock.
struct RenderState {
    let configuration: PrometheusSamplerConfiguration
    let logger: Logger
    var pendingCatalog: RouteCatalog?
    var layout: BucketLayout
    var counters: BucketCounters
    var unrouted = OpCounts()
    var hot: HotRouteTracker
    var routeCount = 0
    var layoutChanges: UInt64 = 0
    var collectors: [any MetricsCollector] = []
    var collectorConflicts: UInt64 = 0
    var lastRenderSeconds = 0.0
    var lastRenderSize = 0
    /// Key bytes hashed so far (relayouts and info previews): what makes render cost depend on
    /// key length, so tests can pin that a scrape without a catalog change hashes nothing.
    var hashedKeyBytes = 0
    /// Per bucket, the pre-escaped `{bucket="…"} ` of its counter lines, one after another
    /// (bucket i ends at `counterLabelEnds[i]`), and the whole info and route-count lines
    /// (their values change only with the layout): rebuilt on relayout, so a render only copies
    /// bytes and writes the counters' digits.
    var counterLabels: [UInt8] = []
    var counterLabelEnds: [Int] = []
    var infoLines: [UInt8] = []
    var routesLines: [UInt8] = []
    /// The bucket label of each route ranked at the previous render: a route that has just
    /// left the catalog (split or merged away) still ranks until its window fades, and keeps
    /// naming the bucket its traffic was in. At most 2 × hotRoutes entries.
    var hotRouteBuckets: [RouteID: String] = [:]
    let processCollector = ProcessCollector()
    /// Family names already reported as conflicting (each is logged once).
    var reportedConflicts: Set<String> = []

    init(configuration: PrometheusSamplerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        layout = BucketLayout(emptyWithBudget: configuration.effectiveBudget)
        counters = BucketCounters(retiredCapacity: configuration.effectiveRetiredCapacity, seed: configuration.layoutSeed)
        hot = HotRouteTracker(windowMs: configuration.effectiveHotWindow, nowMs: configuration.now(), ranks: configuration.effectiveHotRoutes)
    }

    // MARK: fold

    /// Applies a pending catalog to the layout, then moves every route's delta since the last
    /// fold into the bucket that holds the route now. Visits only the routes touched since.
    mutating func fold(slots: RouteSlots, consumer: Int, nowMs: Int64) {
        if let catalog = pendingCatalog {
            pendingCatalog = nil
            let (next, routeBuckets, hashed) = BucketLayout.build(catalog: catalog, budget: configuration.effectiveBudget,
                                                          labelMode: configuration.labelMode, seed: configuration.layoutSeed)
            hashedKeyBytes += hashed
            relayout(next)
            // Seed the route -> bucket cache from the layout walk: no key comparisons for live routes.
            // Per-slot arrays are sized once for every slot the table has handed out.
            hot.reserve(slots: slots.counters.allocatedSlots)
            for (route, b) in zip(catalog.routes, routeBuckets) {
                let slot = slots.counters.slot(of: route.id)
                guard slot != 0 else { continue }
                hot.seedBucket(Int(b), slot: slot, route: route.id)
            }
            routeCount = catalog.routes.count
        }
        hot.roll(to: nowMs)
        hot.reserve(slots: slots.counters.allocatedSlots)     // a cell per slot: the fold stays in its plain loop
        let hasBuckets = !layout.buckets.isEmpty
        let layout = layout
        var unowned = OpCounts()
        unrouted += slots.collect(consumer: consumer, nowMs: nowMs) { (slots: UnsafeBufferPointer<Int>, deltas: UnsafeBufferPointer<OpCounts>, owners: SlotOwners) in
            guard hasBuckets else { return }
            counters.withValues { values in
                // A route's bucket is searched by key only the first time its slot is folded
                // after a relayout (then cached in its hot cell).
                hot.fold(slots: slots, deltas: deltas, owners: owners.table, into: values, unowned: &unowned) { slot in
                    layout.bucketIndex(forKey: owners.route(ofSlot: slot)!.start)
                }
            }
        }
        unrouted += unowned
        hot.compact()
    }

    /// The bucket of a route owning `slot`: the fold's cache when it knows the route (no key
    /// comparison: keys can be long), else a search.
    private func bucketIndex(ofSlot slot: Int, route: Route) -> Int {
        hot.cachedBucket(slot: slot, route: route.id) ?? layout.bucketIndex(forKey: route.start)
    }

    private mutating func relayout(_ proposed: BucketLayout) {
        let labels = counters.assignLabels(starts: proposed.buckets.map(\.start), hashes: proposed.startHashes, mode: configuration.labelMode)
        let next = proposed.relabeled(labels)
        let boundariesMoved = next.buckets.count != layout.buckets.count
            || zip(next.buckets, layout.buckets).contains { $0.label != $1.label || $0.start != $1.start || $0.end != $1.end }
        if boundariesMoved && !layout.buckets.isEmpty {
            layoutChanges += 1
            logger.debug("bucket layout changed", metadata: [
                "buckets": "\(next.buckets.count)", "level": "\(next.level)",
                "retired_labels": "\(counters.retiredCount)", "budget": "\(configuration.effectiveBudget)",
            ])
        }
        let old = layout
        counters.relabel(labels, home: { next.bucketIndex(forKey: old.buckets[$0].start) },
                         oldStart: { old.buckets[$0].start }, oldHash: { old.startHashes[$0] })
        layout = next
        hot.forgetBuckets()
        counterLabels = []
        counterLabelEnds = []
        infoLines = []
        routesLines = []
        for (i, b) in next.buckets.enumerated() {
            let start = counterLabels.count
            ExpositionWriter.appendLabels([("bucket", b.label)], to: &counterLabels)
            counterLabels.append(UInt8(ascii: " "))
            counterLabelEnds.append(counterLabels.count)
            // The info line's labels are all functions of the bucket's start key, so a label
            // keeps one info series for as long as it exists; what moves with neighbouring
            // routes (the route count) is a value, the end is the next row's start.
            infoLines.append(contentsOf: "keyviz_bucket_info".utf8)
            ExpositionWriter.appendLabels([
                ("axis", Self.axis(b.start)),
                ("bucket", b.label),
                ("start", BucketLabeler.infoPreview(b.start, hash: next.startHashes[i])),
            ], to: &infoLines)
            infoLines.append(contentsOf: " 1\n".utf8)
            routesLines.append(contentsOf: "keyviz_bucket_routes".utf8)
            routesLines.append(contentsOf: counterLabels[start...])
            ExpositionWriter.appendDecimal(UInt64(b.routeCount), to: &routesLines)
            routesLines.append(UInt8(ascii: "\n"))
        }
    }

    /// Bytes of a start key compared by `axis`: enough for keys of typical stores to differ.
    static let axisBytes = 16

    /// The `axis` label of a bucket: the first ``axisBytes`` bytes of its start key in lowercase
    /// hex, zero-padded to a fixed width. Fixed-width hex of a prefix sorts as the keys do
    /// (ties only between keys that share the prefix), and it depends on the start key alone,
    /// not on the bucket's position, so it never changes while the label exists. The name sorts
    /// before `bucket`, so Prometheus returns `sum by (axis, bucket)` rows in key order.
    static func axis(_ key: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(2 * axisBytes)
        for i in 0..<axisBytes {
            let b = i < key.count ? key[i] : 0
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: write

    private enum Item {
        case bucketCounter(Series)
        case bucketInfo
        case bucketRoutes
        case hotRoute(HotRouteFamily)
        case family(MetricFamily)
    }

    mutating func write(format: ExpositionFormat, slots: RouteSlots, to out: inout [UInt8]) {
        // Each item with its family name, so sorting compares strings it already has.
        var items: [(name: String, item: Item)] = Series.allCases.map { (Self.counterNames[$0]!.0, .bucketCounter($0)) }
            + [("keyviz_bucket_info", .bucketInfo), ("keyviz_bucket_routes", .bucketRoutes)]
        let (own, hotRows) = ownFamilies(nowMs: configuration.now(), slots: slots)
        items += HotRouteFamily.allCases.map { ($0.name, .hotRoute($0)) }
        items += own.map { ($0.name, .family($0)) }
        var taken = Set(items.map(\.name))
        var extra: [MetricFamily] = configuration.processMetrics ? processCollector.collect() : []
        for c in collectors { extra += c.collect() }
        for f in extra {
            if taken.insert(f.name).inserted {
                items.append((f.name, .family(f)))
            } else {
                collectorConflicts &+= 1
                if reportedConflicts.insert(f.name).inserted {
                    logger.warning("a collector's family is left out: its name is already taken", metadata: ["family": "\(f.name)"])
                }
            }
        }
        items.sort { $0.name < $1.name }
        for (name, item) in items {
            switch item {
            case .bucketCounter(let series):
                writeBucketCounter(series, format: format, to: &out)
            case .bucketInfo:
                ExpositionWriter.appendHeader(MetricFamily(unchecked: name, help: Help.bucketInfo, type: .gauge, samples: []), format: format, to: &out)
                out.append(contentsOf: infoLines)
            case .bucketRoutes:
                ExpositionWriter.appendHeader(MetricFamily(unchecked: name, help: Help.bucketRoutes, type: .gauge, samples: []), format: format, to: &out)
                out.append(contentsOf: routesLines)
            case .hotRoute(let family):
                family.write(hotRows, format: format, to: &out)
            case .family(let f):
                ExpositionWriter.encode([f], format: format, into: &out, terminate: false)
            }
        }
        if format == .openMetrics { out.append(contentsOf: "# EOF\n".utf8) }
    }

    /// Family names of the bucket counters, as strings and bytes, built once.
    private static let counterNames: [Series: (String, [UInt8])] = Dictionary(uniqueKeysWithValues: Series.allCases.map {
        let name = "keyviz_bucket_\($0.rawValue)_total"
        return ($0, (name, Array(name.utf8)))
    })

    /// One counter family's lines, written through a pointer into space appended at once
    /// (`append(contentsOf:)` per piece cost more than the bytes it copies).
    private func writeBucketCounter(_ series: Series, format: ExpositionFormat, to out: inout [UInt8]) {
        let (name, nameBytes) = Self.counterNames[series]!
        ExpositionWriter.appendHeader(MetricFamily(unchecked: name, help: Help.bucket(series), type: .counter, samples: []), format: format, to: &out)
        let buckets = counterLabelEnds.count
        guard buckets > 0 else { return }
        let start = out.count
        // Each line: name, labels and space, at most 20 digits, newline.
        out.append(contentsOf: repeatElement(0, count: counterLabels.count + buckets * (nameBytes.count + 21)))
        var end = start
        out.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            nameBytes.withUnsafeBufferPointer { name in
                counterLabels.withUnsafeBufferPointer { labels in
                    counters.values.withUnsafeBufferPointer { values in
                        var from = 0
                        for i in 0..<buckets {
                            (base + end).update(from: name.baseAddress!, count: name.count)
                            end += name.count
                            let to = counterLabelEnds[i]
                            (base + end).update(from: labels.baseAddress! + from, count: to - from)
                            end += to - from
                            from = to
                            end += ExpositionWriter.writeDecimal(values[i][series], to: base + end)
                            base[end] = UInt8(ascii: "\n")
                            end += 1
                        }
                    }
                }
            }
        }
        out.removeLast(out.count - end)
    }

    /// Unrouted and self families, and the hot-route families' rows (written by
    /// ``HotRouteFamily``).
    private mutating func ownFamilies(nowMs: Int64, slots: RouteSlots) -> ([MetricFamily], [HotRouteRow]) {
        var families: [MetricFamily] = []
        families.append(MetricFamily(unchecked: "keyviz_unrouted_total", help: Help.unrouted, type: .counter, samples: [
            MetricSample(labels: [("op", "read")], value: .integer(unrouted.reads)),
            MetricSample(labels: [("op", "write")], value: .integer(unrouted.writes)),
        ]))
        families.append(MetricFamily(unchecked: "keyviz_unrouted_bytes_total", help: Help.unroutedBytes, type: .counter, samples: [
            MetricSample(labels: [("op", "read")], value: .integer(unrouted.readBytes)),
            MetricSample(labels: [("op", "write")], value: .integer(unrouted.writeBytes)),
        ]))
        var rows: [HotRouteRow] = []
        var rankedBuckets: [RouteID: String] = [:]
        let seconds = hot.coveredSeconds(nowMs: nowMs)
        let ranked = hot.top(nowMs: nowMs)
        for op in Op.allCases {
            let k = configuration.effectiveHotRoutes
            let top = op == .read ? ranked.reads : ranked.writes
            let total = hot.total(op, nowMs: nowMs)
            for rank in 1...max(1, k) where k > 0 {
                let entry = rank <= top.count ? top[rank - 1] : nil
                var bucket = ""
                if let e = entry {
                    if let route = slots.owner(ofSlot: e.slot), route.id == e.route, !layout.buckets.isEmpty {
                        bucket = layout.buckets[bucketIndex(ofSlot: e.slot, route: route)].label
                    } else {
                        bucket = hotRouteBuckets[e.route] ?? ""
                    }
                    if !bucket.isEmpty { rankedBuckets[e.route] = bucket }
                }
                // Identity is (op, rank) plus the bucket holding the route: a split or merge
                // renames the route but rarely moves it to another bucket. The route id is a
                // value (-1: no route at this rank).
                rows.append(HotRouteRow(op: op, rank: rank,
                                        rate: entry.map { $0.count / seconds } ?? 0,
                                        share: entry.map { total <= 0 ? 0 : min(1, $0.count / total) } ?? 0,
                                        id: entry.map { Double($0.route.rawValue) } ?? -1,
                                        bucket: bucket))
            }
        }
        hotRouteBuckets = rankedBuckets
        families.append(gauge("keyviz_routes", Help.routes, routeCount))
        families.append(gauge("keyviz_buckets", Help.buckets, layout.buckets.count))
        families.append(gauge("keyviz_bucket_budget", Help.budget, configuration.effectiveBudget))
        families.append(gauge("keyviz_bucket_level", Help.level, layout.level))
        families.append(gauge("keyviz_retired_bucket_labels", Help.retired, counters.retiredCount))
        families.append(MetricFamily(unchecked: "keyviz_layout_changes_total", help: Help.layoutChanges, type: .counter,
                                     samples: [MetricSample(value: .integer(layoutChanges))]))
        families.append(MetricFamily(unchecked: "keyviz_collector_conflicts_total", help: Help.conflicts, type: .counter,
                                     samples: [MetricSample(value: .integer(collectorConflicts))]))
        families.append(MetricFamily(unchecked: "keyviz_render_duration_seconds", help: Help.renderDuration, type: .gauge,
                                     samples: [MetricSample(value: .double(lastRenderSeconds))]))
        return (families, rows)
    }

    private func gauge(_ name: String, _ help: String, _ value: Int) -> MetricFamily {
        MetricFamily(unchecked: name, help: help, type: .gauge, samples: [MetricSample(value: .integer(UInt64(max(0, value))))])
    }

    enum Help {
        static func bucket(_ s: Series) -> String {
            switch s {
            case .reads: "Read operations observed on the routes of a bucket (adjacent routes in key order)."
            case .writes: "Write operations observed on the routes of a bucket (adjacent routes in key order)."
            case .readBytes: "Bytes (key + value) of read operations observed on the routes of a bucket."
            case .writeBytes: "Bytes (key + value) of write operations observed on the routes of a bucket."
            }
        }
        static let bucketInfo = "Start key of a bucket (inclusive; the bucket ends where the next one starts) and axis, a fixed-width hex prefix of it that sorts in key order. Always 1."
        static let bucketRoutes = "Routes whose start key lies in the bucket."
        static let unrouted = "Operations observed for a key or route id with no known route."
        static let unroutedBytes = "Bytes (key + value) of operations observed for a key or route id with no known route."
        static let hotRate = "Operations per second of the rank-th busiest route over the hot-route window."
        static let hotShare = "Share (0 to 1) of all operations of this op taken by the rank-th busiest route over the hot-route window."
        static let hotID = "Id of the route that holds the hot-route rank (-1: no route)."
        static let hotInfo = "Bucket holding the route at each hot-route rank; for a route that has left the catalog, the bucket it was in (empty: no route, or unknown). Always 1."
        static let routes = "Routes in the current route catalog."
        static let buckets = "Buckets in the current layout."
        static let budget = "Most buckets the layout may use."
        static let level = "Boundary level of the layout: a route start is a boundary when its hash has this many trailing zero bits."
        static let retired = "Bucket labels no longer in the layout whose counts are remembered in case they return."
        static let layoutChanges = "Times the bucket boundaries changed."
        static let conflicts = "Families from host collectors left out because their name was already taken."
        static let renderDuration = "Duration of the previous render of the metrics, in seconds."
    }
}
