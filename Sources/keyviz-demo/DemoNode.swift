import Foundation
import KeyViz
import KeyVizPrometheus
import ShardKV
import Synchronization

/// The demo node: coordinator, workload, churn and the sampler chain, run on plain threads.
final class DemoNode: Sendable {
    let options: DemoOptions
    let engine: RouteEngine
    let coordinator: ShardedCoordinator
    let memSampler: MemSampler
    let prometheus: PrometheusSampler<MemSampler>
    private let stopping = Atomic<Bool>(false)
    private let operations = Atomic<Int>(0)
    private let churnEvents = Atomic<Int>(0)
    /// What the workload has had observed, summed as each worker stops.
    private let observed = Mutex(OpCounts())

    init(options: DemoOptions) {
        self.options = options
        let stepMs = Int64(options.step * 1000)
        memSampler = MemSampler(configuration: .init(stepMilliseconds: stepMs, historyColumns: options.historyColumns))
        prometheus = PrometheusSampler(wrapping: memSampler, configuration: .init(bucketBudget: options.buckets, hotRoutes: options.hotRoutes))
        engine = RouteEngine(catalog: .evenlySplit(count: options.routes, groups: options.groups))
        let groups = (1...options.groups).map { ShardGroup(id: ShardGroupID($0)) }
        coordinator = ShardedCoordinator(engine: engine, groups: groups, sampler: prometheus)
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
        let workload = Workload(seed: options.seed, skew: options.skew, hotspotPeriodOps: hotspotOps / options.workers,
                                keys: UInt64(options.keys))
        for w in 0..<options.workers {
            threads.append(Thread { [self] in runWorker(stream: workload.stream(worker: w), opsPerSecond: perWorker) })
        }
        threads.append(Thread { [self] in runFlusher() })
        if options.churnPeriod > 0 {
            threads.append(Thread { [self] in runChurn() })
        }
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
        }
    }

    /// Every churn period, splits a random route at a random key or merges two random
    /// neighbours, keeping the route count within [routes/2, routes*2].
    private func runChurn() {
        var rng = SplitMix64(seed: options.seed ^ 0xC0FFEE)
        while !isStopping {
            sleepWhileRunning(options.churnPeriod)
            if isStopping { break }
            let catalog = engine.catalog
            let x = rng.next()
            if Double(x >> 11) / Double(1 << 53) < options.churnRemovals {
                // Remove the last route (its keys become unrouted) or put it back.
                do {
                    if let last = catalog.routes.last, !last.end.isEmpty {
                        try engine.update { c throws(RouteCatalogError) in
                            try c.adding(Route(id: c.nextRouteID, start: last.end, end: [], group: last.group))
                        }
                    } else if catalog.routes.count > 1, let last = catalog.routes.last {
                        try engine.update { c throws(RouteCatalogError) in try c.removing(last.id) }
                    }
                    churnEvents.wrappingAdd(1, ordering: .relaxed)
                } catch {}
                continue
            }
            let wantSplit = catalog.routes.count <= max(1, options.routes / 2) || (x & 1 == 0 && catalog.routes.count < options.routes * 2)
            do {
                if wantSplit {
                    try coordinator.split(at: Workload.key(rng.next() % Workload.keySpace))
                } else if catalog.routes.count > 1 {
                    let i = Int(rng.next() % UInt64(catalog.routes.count - 1))
                    try coordinator.merge(catalog.routes[i].id, catalog.routes[i + 1].id)
                }
                churnEvents.wrappingAdd(1, ordering: .relaxed)
            } catch {
                // A split key that hits a route start is simply skipped.
            }
        }
    }

    private func sleepWhileRunning(_ seconds: Double) {
        let until = Date().addingTimeInterval(seconds)
        while !isStopping, Date() < until {
            Thread.sleep(forTimeInterval: min(0.05, max(0, until.timeIntervalSinceNow)))
        }
    }

    /// One status line: ops/s since the last line, routes, and the hottest route of the newest
    /// column with its share of operations.
    func statusLine(opsPerSecond: Double) -> String {
        let routes = engine.catalog.routes.count
        let reads = memSampler.snapshot(series: .reads, fromUnixMs: UnixTime.nowMilliseconds() - Int64(options.step * 1000) - 500)
        let writes = memSampler.snapshot(series: .writes, fromUnixMs: UnixTime.nowMilliseconds() - Int64(options.step * 1000) - 500)
        var hottest = "none"
        if let last = reads.columnUnixMs.indices.last {
            var best = -1, bestOps: UInt64 = 0, total: UInt64 = 0
            for (i, (r, w)) in zip(reads.rows, writes.rows).enumerated() {
                let ops = r.values[last] + w.values[last]
                total += ops
                if ops > bestOps { best = i; bestOps = ops }
            }
            if best >= 0, total > 0 {
                let row = reads.rows[best]
                let share = Double(bestOps) / Double(total) * 100
                hottest = "\(row.bucketID) [\(KeyPreview.render(row.start)), \(row.end.isEmpty ? "+inf" : KeyPreview.render(row.end))) \(String(format: "%.1f", share))%"
            }
        }
        let buckets = prometheus.currentLayout().buckets.count
        return "keyviz-demo: ops/s=\(Int(opsPerSecond)) routes=\(routes) buckets=\(buckets) churn=\(churnCount) hottest=\(hottest)"
    }
}
