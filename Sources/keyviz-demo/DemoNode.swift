#if Demo  // the demo is built with its trait only (Package.swift)
import Foundation
import KeyViz
import KeyVizPrometheus
import KeyVizStateFile
import ShardKV
import Synchronization

/// The demo node: coordinator, workload, churn and the sampler chain, run on plain threads.
final class DemoNode: Sendable {
    let options: DemoOptions
    let engine: RouteEngine
    let coordinator: ShardedCoordinator
    let memSampler: HeatMatrixSampler
    let prometheus: PrometheusSampler<HeatMatrixSampler>
    /// Outermost: sees the keys, samples 1 in `--hot-key-sample-every` for the hot-key sketches.
    let hotKeys: HotKeySampler<PrometheusSampler<HeatMatrixSampler>>
    private let stopping = Atomic<Bool>(false)
    private let operations = Atomic<Int>(0)
    private let churnEvents = Atomic<Int>(0)
    /// What the workload has had observed, summed as each worker stops.
    private let observed = Mutex(OpCounts())
    private let autoSplits = Atomic<Int>(0)

    init(options: DemoOptions) {
        self.options = options
        let stepMs = Int64((options.step * 1000).rounded())
        // validate() has parsed --tiers already.
        let tiers = (try? options.coarserTiers()) ?? []
        memSampler = HeatMatrixSampler(configuration: .init(stepMilliseconds: stepMs, historyColumns: options.historyColumns, coarserTiers: tiers,
                                                              routeChangeEvents: options.routeChangeEvents))
        prometheus = PrometheusSampler(wrapping: memSampler, configuration: .init(bucketBudget: options.buckets, hotRoutes: options.hotRoutes))
        hotKeys = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: options.hotKeySampleEvery))
        prometheus.register(HotKeyCollector(source: hotKeys, ranks: options.hotRoutes))
        prometheus.register(SplitAdviceCollector(source: hotKeys, ranks: options.hotRoutes))
        engine = RouteEngine(catalog: .evenlySplit(count: options.routes, groups: options.groups))
        let groups = (1...options.groups).map { ShardGroup(id: ShardGroupID($0), retainedVersions: options.versions) }
        coordinator = ShardedCoordinator(engine: engine, groups: groups, sampler: hotKeys)
    }

    var operationCount: Int { operations.load(ordering: .relaxed) }
    /// Everything the workers had observed; complete once their threads have finished.
    var observedTotals: OpCounts { observed.withLock { $0 } }
    var churnCount: Int { churnEvents.load(ordering: .relaxed) }

    func stop() { stopping.store(true, ordering: .relaxed) }
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Starts workers, churn and the flusher on their own threads; returns at once.
    func start() -> [Thread] {
        var threads: [Thread] = []
        let perWorker = Double(options.rate) / Double(options.workers)
        let hotspotOps = max(1, Int(options.hotspotPeriod * Double(options.rate)))
        let workload = Workload(seed: options.seed, skew: options.effectiveSkew, hotspotPeriodOps: hotspotOps / options.workers,
                                keys: UInt64(options.keys))
        for w in 0..<options.workers {
            threads.append(Thread { [self] in runWorker(stream: workload.stream(worker: w), opsPerSecond: perWorker) })
        }
        threads.append(Thread { [self] in runFlusher() })
        if options.effectiveChurnPeriod > 0 {
            threads.append(Thread { [self] in runChurn() })
        }
        if options.autoSplit { startAutoSplit() }
        for t in threads { t.start() }
        return threads
    }

    private func runWorker(stream: Workload.Stream, opsPerSecond: Double) {
        var stream = stream
        var expected = OpCounts()
        defer { observed.withLock { $0 += expected } }
        let start = Date()
        var done = 0.0
        while !isStopping {
            let due = Date().timeIntervalSince(start) * opsPerSecond
            if done >= due {
                Thread.sleep(forTimeInterval: 0.001)
                continue
            }
            let batch = min(1000, Int(due - done) + 1)
            for _ in 0..<batch { stream.step(on: coordinator, expected: &expected) }
            done += Double(batch)
            operations.wrappingAdd(batch, ordering: .relaxed)
        }
    }

    private func runFlusher() {
        while !isStopping {
            sleepWhileRunning(options.step)
            memSampler.flush()
            hotKeys.drain()
        }
    }

    private func log(_ line: String) {
        FileHandle.standardError.write(Data("keyviz-demo: \(line)\n".utf8))
    }

    /// Splits acted on by --auto-split so far.
    var autoSplitCount: Int { autoSplits.load(ordering: .relaxed) }

    /// --auto-split: consumes the sampler's advice stream (the host hook of docs/embedding.md)
    /// and splits through the coordinator, so data follows the catalog as with any split.
    private func startAutoSplit() {
        let stream = hotKeys.splitAdviceUpdates(every: .seconds(1))
        var policy = AutoSplitPolicy(cooldownMs: Int64(options.effectiveAutoSplitCooldown * 1000), minBalance: options.effectiveAutoSplitMinBalance,
                                  maxRoutes: max(64, options.routes * 8))
        Task { [self] in
            for await advice in stream {
                if isStopping { break }
                guard let a = policy.consider(advice, nowMs: UnixTime.nowMilliseconds(), routes: engine.catalog.routes.count) else { continue }
                do {
                    try coordinator.split(at: a.key)
                    autoSplits.wrappingAdd(1, ordering: .relaxed)
                    log("auto-split route \(a.route) \(KeyPreview.renderRange(start: a.routeStart, end: a.routeEnd)) at \(KeyPreview.render(a.key)) "
                        + "(\(a.op) balance \(Int((a.balance * 100).rounded()))%, \(a.samples) samples)")
                } catch {
                    log("auto-split of route \(a.route) at \(KeyPreview.render(a.key)) refused: \(error)")
                }
            }
        }
    }

    /// Every churn period, splits a random route at a random key or merges two random
    /// neighbours, keeping the route count within [routes/2, routes*2].
    private func runChurn() {
        var rng = SplitMix64(seed: options.seed ^ 0xC0FFEE)
        while !isStopping {
            sleepWhileRunning(options.effectiveChurnPeriod)
            if isStopping { break }
            if churnOnce(&rng) { churnEvents.wrappingAdd(1, ordering: .relaxed) }
        }
    }

    /// One split, merge, removal or re-addition through the coordinator (so data follows the
    /// catalog); false when the drawn change was refused (a split key at a route start, say).
    private func churnOnce(_ rng: inout SplitMix64) -> Bool {
        let catalog = engine.catalog
        let routes = catalog.routes
        let x = rng.next()
        do {
            if Double(x >> 11) / Double(1 << 53) < options.churnRemovals {
                // Remove the last route (its keys become unrouted, its data is dropped) or put it back.
                if let last = routes.last, !last.end.isEmpty {
                    try coordinator.addRoute(start: last.end, end: [], group: last.group)
                } else if routes.count > 1, let last = routes.last {
                    try coordinator.removeRoute(last.id)
                } else {
                    return false
                }
                return true
            }
            // Merges join neighbours of one group (data never moves), so only routes that a
            // split made can merge; the count stays near [routes / 2, routes * 2].
            let mergeable = routes.indices.dropLast().filter { routes[$0].group == routes[$0 + 1].group }
            let wantSplit = mergeable.isEmpty || routes.count <= max(1, options.routes / 2)
                || (x & 1 == 0 && routes.count < options.routes * 2)
            if wantSplit {
                try coordinator.split(at: Workload.key(rng.next() % Workload.keySpace))
            } else {
                let i = mergeable[Int(rng.next() % UInt64(mergeable.count))]
                try coordinator.merge(routes[i].id, routes[i + 1].id)
            }
            return true
        } catch {
            return false
        }
    }

    /// Saves the matrix history every `seconds` until the node stops (the last save, at exit,
    /// is main's, after the last flush). A failed save is reported and retried next time.
    func startStateSaver(_ file: MatrixStateFile, every seconds: Double) -> Thread {
        let t = Thread { [self] in
            while !isStopping {
                sleepWhileRunning(seconds)
                if isStopping { break }
                do {
                    try file.save(memSampler)
                } catch {
                    FileHandle.standardError.write(Data("keyviz-demo: saving the matrix history failed: \(error)\n".utf8))
                }
            }
        }
        t.start()
        return t
    }

    private func sleepWhileRunning(_ seconds: Double) {
        let until = Date().addingTimeInterval(seconds)
        while !isStopping, Date() < until {
            Thread.sleep(forTimeInterval: min(0.05, max(0, until.timeIntervalSinceNow)))
        }
    }

    /// Keys held by this node's stores (every group), the demo's main memory use.
    var storedKeys: Int { coordinator.groupIDs.reduce(0) { $0 + (coordinator.group($1)?.store.keyCount ?? 0) } }

    /// One status line: ops/s since the last line, routes, buckets, stored keys, and the
    /// hottest route of the newest column (one consistent column: reads and writes of a route
    /// come from the same flush) with its share of operations.
    func statusLine(opsPerSecond: Double) -> String {
        let routes = engine.catalog.routes.count
        var hottest = "none"
        if let hot = memSampler.newestColumn()?.hottestRoute {
            let r = hot.route
            hottest = "route:\(r.id) \(KeyPreview.renderRange(start: r.start, end: r.end)) "
                + String(format: "%.1f%%", hot.share * 100)
            if let key = hotKeys.hotKeys(route: r.id).max(by: { $0.sampledCount < $1.sampledCount }) {
                hottest += " hot key \(KeyPreview.render(key.key)) " + String(format: "~%.0f%%", key.share * 100)
            }
        }
        let buckets = prometheus.currentLayout().buckets.count
        return "keyviz-demo: ops/s=\(Int(opsPerSecond)) routes=\(routes) buckets=\(buckets) keys=\(storedKeys) churn=\(churnCount)\(options.autoSplit ? " auto_splits=\(autoSplitCount)" : "") hottest=\(hottest)"
    }
}
#endif
