import Foundation
@testable import KeyViz
@testable import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing

/// Seeded random interleavings of every public call of the decorator and the heat matrix
/// (both observe forms, apply, render, currentLayout, bucketTotals, unroutedTotals, flush,
/// snapshot),
/// checked after every step against a small reference model (see docs/design.md, "Promises").
///
///   swift test --filter ModelBased                               # 1 000 sequences (CI: 3 000)
///   KEYVIZ_MODEL_SEQUENCES=100000 swift test --filter ModelBased # long run by hand
///   KEYVIZ_MODEL_SEED=<seed> swift test --filter ModelBased      # replay one, with its trace
@Suite struct ModelBasedTests {
    /// The sequences are dealt to this many test cases (sequence i to shard i % shards), which
    /// Swift Testing runs in parallel: the same sequences, on every core.
    static let shards = 6

    @Test(arguments: 0..<shards)
    func everyPublicCallKeepsEveryPromiseOfTheModel(shard: Int) async {
        let env = ProcessInfo.processInfo.environment
        if let seed = env["KEYVIZ_MODEL_SEED"].flatMap({ UInt64($0) }) {
            guard shard == 0 else { return }
            let run = ModelRun(seed: seed, verbose: true)
            if let failure = await run.run() { Issue.record("seed \(seed): \(failure)\ntrace:\n\(run.trace.joined(separator: "\n"))") }
            return
        }
        let sequences = env["KEYVIZ_MODEL_SEQUENCES"].flatMap { Int($0) } ?? 1_000
        let base = env["KEYVIZ_MODEL_BASE_SEED"].flatMap { UInt64($0) } ?? 20_261_125
        var steps = 0
        for i in stride(from: shard, to: sequences, by: Self.shards) {
            let seed = SplitMix64.mix(base &+ UInt64(i))
            let run = ModelRun(seed: seed, verbose: false)
            if let failure = await run.run() {
                Issue.record("""
                    sequence \(i) failed: \(failure)
                    last steps:
                    \(run.trace.suffix(12).joined(separator: "\n"))
                    replay: KEYVIZ_MODEL_SEED=\(seed) swift test --filter ModelBased
                    """)
                return
            }
            steps += run.steps
        }
        let mine = (sequences - shard + Self.shards - 1) / Self.shards
        #expect(steps >= mine * 20)
    }
}

/// Keys whose truncated labels collide under the default (seed 0) hash: same first 23
/// characters and the same top 32 hash bits. Found once by a birthday search (~2^16 keys).
let collidingKeys: [[UInt8]] = {
    var seen: [UInt64: [UInt8]] = [:]
    var found: [[UInt8]] = []
    var n: UInt64 = 0
    while found.count < 4 {
        let key = Array("collide/xxxxxxxxxxxxxxxxxxxx/\(String(SplitMix64.mix(n), radix: 16))".utf8)
        n += 1
        let top = KeyHash.hash(key) >> 32
        if let other = seen[top] {
            found += [other, key]
            seen[top] = nil
        } else {
            seen[top] = key
        }
    }
    return found
}()

struct ModelFailure: Error, CustomStringConvertible {
    var description: String
}

/// One random sequence against one decorator wrapping one heat matrix.
///
/// `@unchecked Sendable`: its state is touched by one thread at a time (during a concurrent
/// step the observer threads use only the samplers and their own locals).
final class ModelRun: @unchecked Sendable {
    let seed: UInt64
    let verbose: Bool
    private var rng: SplitMix64
    private(set) var trace: [String] = []
    private(set) var steps = 0

    private let clock = ManualClock()
    private let mem: HeatMatrixSampler
    private let p: PrometheusSampler<HeatMatrixSampler>
    /// The same chain under a hot-key sampler: it reads the thread's stripe once and hands it
    /// down (`observe(…, thread:)`), a second path into the same counters.
    private let hot: HotKeySampler<PrometheusSampler<HeatMatrixSampler>>
    private let config: PrometheusSamplerConfiguration
    private let memConfig: HeatMatrixSamplerConfiguration
    private let keyPool: [[UInt8]]
    private var catalog: RouteCatalog
    private var departed: [RouteID] = []

    // The model.
    private var observed = OpCounts()
    private var sinceFlush = OpCounts()
    private var sinceFlushExact = true
    private var columns: [(unixMs: Int64, total: OpCounts?)] = []
    private var lastExported: [String: UInt64] = [:]   // "family|label" -> last exported value
    private var banked: [String: UInt64] = [:]         // values of series segments ended by eviction
    private var lastUnrouted = OpCounts()
    private var labelStart: [String: [UInt8]] = [:]
    private var previousLabels: Set<String> = []
    private var labelsEverSeen: Set<String> = []
    private var incarnation: [String: UInt64] = [:]

    private static let families: [(String, Series)] = [
        ("keyviz_bucket_reads_total", .reads), ("keyviz_bucket_writes_total", .writes),
        ("keyviz_bucket_read_bytes_total", .readBytes), ("keyviz_bucket_write_bytes_total", .writeBytes),
    ]

    init(seed: UInt64, verbose: Bool) {
        self.seed = seed
        self.verbose = verbose
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let useSeed = rng.next() % 3 == 0
        var cfg = PrometheusSamplerConfiguration(
            bucketBudget: pick([1, 2, 3, 4, 5, 8, 16, 64]), labelMode: rng.next() % 4 == 0 ? .hashed : .keyPreview,
            hotRoutes: pick([0, 1, 3, 7]), hotRouteWindowMilliseconds: pick([1_000, 5_000]),
            graceMilliseconds: pick([0, 5, 50, 10_000]), retiredLabelCapacity: pick([0, 1, 3, 16, 100_000]),
            stripes: pick([1, 2, 4]), processMetrics: rng.next() % 8 == 0, layoutSeed: useSeed ? rng.next() | 1 : 0,
            now: clock.function)
        // Properties set after init, in and out of range: clamped where used, never a crash.
        if rng.next() % 4 == 0 { cfg.hotRoutes = pick([-3, 150]) }
        if rng.next() % 4 == 0 { cfg.bucketBudget = pick([0, -7, 1_000_000]) }
        if rng.next() % 8 == 0 { cfg.hotRouteWindowMilliseconds = -1 }
        if rng.next() % 8 == 0 { cfg.graceMilliseconds = -1 }
        if rng.next() % 8 == 0 { cfg.retiredLabelCapacity = -1 }
        config = cfg
        var mc = HeatMatrixSamplerConfiguration(stepMilliseconds: 10, historyColumns: pick([1, 3, 8, 20]), graceMilliseconds: pick([0, 20, nil]),
                                         stripes: pick([1, 2]), now: clock.function)
        if rng.next() % 8 == 0 { mc.historyColumns = pick([0, -1]) }
        if rng.next() % 8 == 0 { mc.stepMilliseconds = -5 }
        memConfig = mc
        mem = HeatMatrixSampler(configuration: mc)
        p = PrometheusSampler(wrapping: mem, configuration: cfg)
        hot = HotKeySampler(wrapping: p, configuration: .init(sampleEvery: 3, windowMilliseconds: 0))

        var pool: [[UInt8]] = []
        for _ in 0..<24 {
            let len = Int(rng.next() % 4) + 1
            pool.append((0..<len).map { _ in pick(Array("abmxz~(0".utf8) + [0x00, 0x7f, 0xff]) })
        }
        for _ in 0..<8 {   // long keys: truncated labels sharing their first 23 characters
            pool.append(Array("long/common/prefix/abcdefgh/".utf8) + (0..<Int(rng.next() % 12 + 1)).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 26) })
        }
        if rng.next() % 4 == 0 { pool.append([UInt8](repeating: 0x41, count: 5_000) + [UInt8(rng.next() & 0xff)]) }
        if cfg.layoutSeed == 0 { pool += collidingKeys }
        keyPool = Array(Set(pool)).sorted { $0.lexicographicallyPrecedes($1) }
        let startCount = Int(rng.next() % 10) + 1
        var starts = Set<[UInt8]>()
        while starts.count < startCount - 1 { starts.insert(pick(keyPool)) }
        let sortedStarts: [[UInt8]] = [[]] + starts.sorted { $0.lexicographicallyPrecedes($1) }
        catalog = try! RouteCatalog(routes: sortedStarts.enumerated().map { i, s in
            Route(id: RouteID(i + 1), start: s, end: i + 1 < sortedStarts.count ? sortedStarts[i + 1] : [], group: 1)
        })
        self.rng = rng
    }

    private func note(_ s: @autoclosure () -> String) {
        if verbose || trace.count < 100_000 { trace.append("\(steps): " + s()) }
    }

    private func random(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }

    /// Runs the sequence; the first broken promise, or nil.
    func run() async -> ModelFailure? {
        note("config budget=\(config.bucketBudget) mode=\(config.labelMode) seed=\(config.layoutSeed) retired=\(config.retiredLabelCapacity) grace=\(config.graceMilliseconds) hot=\(config.hotRoutes) history=\(memConfig.historyColumns)")
        p.apply(catalog)
        let length = 20 + random(60)
        do {
            for _ in 0..<length {
                steps += 1
                try await step()
                try checkBookkeeping()
            }
            // Quiescent end: one last render and flush must account for everything.
            try render(concurrent: nil)
            try flush(concurrent: nil)
        } catch let f as ModelFailure {
            return f
        } catch {
            return ModelFailure(description: "\(error)")
        }
        return nil
    }

    private func step() async throws {
        switch random(20) {
        case 0..<5: observe(count: 1 + random(40))
        case 5..<8: try change()
        case 8..<10: try render(concurrent: nil)
        case 10: try checkLayout(p.currentLayout())
        case 11: try bucketTotals()
        case 12: try unroutedTotals()
        case 13..<15: try flush(concurrent: nil)
        case 15..<17: try snapshot()
        case 17, 18: clock.advance(Int64(random(30)))
        default: try await concurrentStep()
        }
    }

    // MARK: observations

    private func ids() -> [RouteID] {
        catalog.routes.map(\.id) + departed.suffix(8) + [.unrouted, 999_999, RouteID(RouteID.limit.rawValue + 3)]
    }

    private func observe(count: Int) {
        let ids = ids()
        var local = OpCounts()
        for _ in 0..<count {
            let x = rng.next()
            let id = x % 10 < 8 ? catalog.routes[Int((x >> 8) % UInt64(catalog.routes.count))].id : ids[Int((x >> 8) % UInt64(ids.count))]
            let op: Op = (x >> 20) & 1 == 0 ? .read : .write
            let k = Int((x >> 24) % 40) - 5, v = Int((x >> 32) % 300) - 5
            if k >= 0 && (x >> 60) & 1 == 0 {   // the key-carrying form, directly or through the hot-key sampler
                let key = [UInt8](repeating: UInt8(truncatingIfNeeded: x), count: k)
                if (x >> 61) & 1 == 0 {
                    p.observe(route: id, op: op, key: key, valueLength: v)
                } else {
                    hot.observe(route: id, op: op, key: key, valueLength: v)
                }
            } else {
                p.observe(route: id, op: op, keyLength: k, valueLength: v)
            }
            local.record(op: op, bytes: PrometheusSampler<HeatMatrixSampler>.observedBytes(keyLength: k, valueLength: v))
        }
        observed += local
        sinceFlush += local
        note("observe \(count)")
    }

    /// Two threads observe while this thread makes one other call; checks use bounds, then the
    /// next quiescent check is exact again.
    private func concurrentStep() async throws {
        let ids = ids(), live = catalog.routes.map(\.id)
        let total = Mutex(OpCounts())
        let seeds = (rng.next(), rng.next())
        let started = Atomic<Int>(0)
        let body: @Sendable (UInt64) -> Void = { [p, hot] s in
            var r = SplitMix64(seed: s)
            var local = OpCounts()
            started.wrappingAdd(1, ordering: .relaxed)
            for _ in 0..<300 {
                let x = r.next()
                let id = x % 10 < 8 ? live[Int((x >> 8) % UInt64(live.count))] : ids[Int((x >> 8) % UInt64(ids.count))]
                let op: Op = (x >> 20) & 1 == 0 ? .read : .write
                let k = Int((x >> 24) % 16), v = Int((x >> 32) % 100)
                if (x >> 60) & 1 == 0 {
                    p.observe(route: id, op: op, keyLength: k, valueLength: v)
                } else {
                    hot.observe(route: id, op: op, key: [UInt8](repeating: UInt8(truncatingIfNeeded: x), count: k), valueLength: v)
                }
                local.record(op: op, bytes: UInt64(k + v))
            }
            total.withLock { $0 += local }
        }
        let which = random(5)
        let failure = Mutex<ModelFailure?>(nil)
        let before = observed
        await ConcurrentRunner.run([
            { body(seeds.0) }, { body(seeds.1) },
            { [self] in
                while started.load(ordering: .relaxed) == 0 { sched_yield() }
                do {
                    switch which {
                    case 0: try render(concurrent: before)
                    case 1: try change()
                    case 2: try flush(concurrent: before)
                    case 3: try checkLayout(p.currentLayout())
                    default: _ = p.bucketTotals(); _ = p.unroutedTotals()
                    }
                } catch let f as ModelFailure {
                    failure.withLock { $0 = f }
                } catch {
                    failure.withLock { $0 = ModelFailure(description: "\(error)") }
                }
            },
        ])
        let added = total.withLock { $0 }
        observed += added
        sinceFlush += added
        note("concurrent observe 600 with call \(which)")
        if let f = failure.withLock({ $0 }) { throw f }
    }

    // MARK: catalog changes

    private func change() throws {
        let burst = random(6) == 0 ? 2 + random(12) : 1    // bursts cross level thresholds
        var next = catalog
        for _ in 0..<burst {
            switch random(6) {
            case 0, 1, 2:   // split at a pool key
                let key = keyPool[random(keyPool.count)]
                if let r = next.route(forKey: key), r.start != key { next = try next.splitting(r.id, at: key) }
            case 3, 4:      // merge two neighbours
                if next.routes.count > 1 {
                    let i = random(next.routes.count - 1)
                    next = try next.merging(next.routes[i].id, next.routes[i + 1].id)
                }
            default:        // remove or add at an edge
                if random(2) == 0, next.routes.count > 1 {
                    next = try next.removing(random(2) == 0 ? next.routes[0].id : next.routes[next.routes.count - 1].id)
                } else if let first = next.routes.first, !first.start.isEmpty {
                    next = try next.adding(Route(id: next.nextRouteID, start: Array(first.start.dropLast()), end: first.start, group: 1))
                } else if let last = next.routes.last, !last.end.isEmpty {
                    next = try next.adding(Route(id: next.nextRouteID, start: last.end, end: [], group: 1))
                }
            }
            if random(3) == 0 {
                let gone = Set(catalog.routes.map(\.id)).subtracting(next.routes.map(\.id))
                departed += gone
                catalog = next
                p.apply(next)
            }
        }
        departed += Set(catalog.routes.map(\.id)).subtracting(next.routes.map(\.id))
        if departed.count > 64 { departed.removeFirst(departed.count - 64) }
        catalog = next
        p.apply(next)
        note("apply \(burst) change(s): \(catalog.routes.count) routes")
    }

    // MARK: the decorator

    private func fail(_ s: String) -> ModelFailure { ModelFailure(description: s) }

    private var evictionPossible: Bool { max(0, config.retiredLabelCapacity) < labelsEverSeen.count }

    private func carriesHash(_ label: String) -> Bool { config.labelMode == .hashed || label.contains("~") }

    /// `concurrent`: the observed totals before observers started racing this render (nil
    /// when nothing races it).
    private func render(concurrent: OpCounts?) throws {
        let format: ExpositionFormat = random(2) == 0 ? .prometheusText : .openMetrics
        let body = p.render(format: format)
        let samples = ModelExposition.samples(body)
        if random(64) == 0 {   // the fast reader agrees with the general test parser
            let general = TestExposition.samples(body).filter { $0.name.hasPrefix("keyviz_") }
            guard general.map(\.name) == samples.map(\.name), general.map(\.labels) == samples.map(\.labels),
                  general.map(\.value) == samples.map(\.value) else { throw fail("the model's exposition reader disagrees") }
        }
        let layout = p.layoutWithoutFold
        let incarnations = p.labelIncarnations
        // A label whose incarnation changed was forgotten (retired past capacity) and restarted.
        var restarted = Set<String>()
        for (label, n) in incarnations {
            if let old = incarnation[label], old != n {
                guard evictionPossible else { throw fail("label \(label) restarted although nothing could be evicted") }
                restarted.insert(label)
            }
            incarnation[label] = n
        }
        note("render \(format) \(layout.buckets.count) buckets level \(layout.level)")
        let budget = min(4096, max(1, config.bucketBudget))
        let labels = layout.buckets.map(\.label)
        let labelSet = Set(labels)
        guard labelSet.count == labels.count else { throw fail("duplicate labels \(labels)") }
        guard labels.count <= budget else { throw fail("\(labels.count) buckets over budget \(budget)") }
        var sums = OpCounts()
        for (family, series) in Self.families {
            let rows = samples.filter { $0.name == family }
            guard rows.count <= budget else { throw fail("\(family): \(rows.count) series over budget \(budget)") }
            guard Set(rows.compactMap { $0.labels["bucket"] }) == labelSet else { throw fail("\(family) labels differ from the layout") }
            for s in rows {
                let label = s.labels["bucket"]!
                let key = family + "|" + label
                guard let v = UInt64(s.value) else { throw fail("bad value \(s.value)") }
                if let last = lastExported[key] {
                    if restarted.contains(label) {
                        banked[key, default: 0] += last
                    } else if v < last {
                        throw fail("\(key) decreased \(last) -> \(v)")
                    }
                }
                lastExported[key] = v
            }
            sums[series] = lastExported.filter { $0.key.hasPrefix(family + "|") }.values.reduce(0, +)
                + banked.filter { $0.key.hasPrefix(family + "|") }.values.reduce(0, +)
        }
        let info = samples.filter { $0.name == "keyviz_bucket_info" }
        guard Set(info.compactMap { $0.labels["bucket"] }) == labelSet, info.count == labels.count else { throw fail("info labels differ") }
        let hot = min(100, max(0, config.hotRoutes))
        for op in ["read", "write"] {
            let n = samples.filter { $0.name == "keyviz_hot_route_info" && $0.labels["op"] == op }.count
            guard n == hot else { throw fail("\(n) hot-route info series for \(op), want \(hot)") }
        }
        // Labels never change meaning.
        for b in layout.buckets {
            if let start = labelStart[b.label], start != b.start {
                guard carriesHash(b.label), restarted.contains(b.label) else {
                    throw fail("label \(b.label) moved from \(KeyPreview.render(start)) to \(KeyPreview.render(b.start))")
                }
            }
            labelStart[b.label] = b.start
        }
        previousLabels = labelSet
        labelsEverSeen.formUnion(labelSet)
        // Exactness: the last exported value of every label ever exported plus unrouted.
        func value(_ name: String, _ op: String) throws -> UInt64 {
            guard let s = samples.first(where: { $0.name == name && $0.labels["op"] == op }), let v = UInt64(s.value) else { throw fail("no \(name){op=\(op)}") }
            return v
        }
        let unrouted = OpCounts(reads: try value("keyviz_unrouted_total", "read"), writes: try value("keyviz_unrouted_total", "write"),
                                readBytes: try value("keyviz_unrouted_bytes_total", "read"), writeBytes: try value("keyviz_unrouted_bytes_total", "write"))
        for series in Series.allCases where unrouted[series] < lastUnrouted[series] { throw fail("unrouted \(series) decreased") }
        lastUnrouted = unrouted
        let exported = sums + unrouted
        if let before = concurrent {
            for series in Series.allCases where exported[series] < before[series] {
                throw fail("\(series): exported \(exported[series]) below the \(before[series]) observed before the render")
            }
        } else if exported != observed {
            throw fail("exported + unrouted = \(exported), observed \(observed)")
        }
    }

    private func checkLayout(_ layout: BucketLayout) throws {
        note("currentLayout \(layout.buckets.count) buckets")
        labelsEverSeen.formUnion(layout.buckets.map(\.label))
        let budget = min(4096, max(1, config.bucketBudget))
        guard !layout.buckets.isEmpty, layout.buckets.count <= budget else { throw fail("layout has \(layout.buckets.count) buckets, budget \(budget)") }
        let want = BucketLayout(catalog: catalog, budget: config.bucketBudget, labelMode: config.labelMode, seed: config.layoutSeed)
        guard want.buckets.map(\.start) == layout.buckets.map(\.start), want.buckets.map(\.end) == layout.buckets.map(\.end),
              want.buckets.map(\.routeCount) == layout.buckets.map(\.routeCount), want.level == layout.level else {
            throw fail("layout is not the catalog's layout")
        }
        guard Set(layout.buckets.map(\.label)).count == layout.buckets.count else { throw fail("duplicate labels") }
        for (a, b) in zip(layout.buckets, layout.buckets.dropFirst()) where a.end != b.start { throw fail("gap between buckets") }
        for b in layout.buckets where !carriesHash(b.label) {
            if let start = labelStart[b.label], start != b.start { throw fail("untruncated label \(b.label) names two keys") }
        }
    }

    private func bucketTotals() throws {
        let totals = p.bucketTotals()
        let layout = p.layoutWithoutFold
        note("bucketTotals \(totals.count)")
        labelsEverSeen.formUnion(totals.keys)
        guard Set(totals.keys) == Set(layout.buckets.map(\.label)) else { throw fail("bucketTotals labels differ from the layout") }
        for (label, v) in totals {
            for (family, series) in Self.families {
                if let last = lastExported[family + "|" + label], v[series] < last, p.labelIncarnations[label] == incarnation[label] {
                    throw fail("bucketTotals[\(label)].\(series) = \(v[series]) below its exported \(last)")
                }
            }
        }
    }

    private func unroutedTotals() throws {
        let u = p.unroutedTotals()
        note("unroutedTotals")
        labelsEverSeen.formUnion(p.layoutWithoutFold.buckets.map(\.label))
        for series in Series.allCases where u[series] < lastUnrouted[series] { throw fail("unroutedTotals below exported") }
    }

    private func checkBookkeeping() throws {
        let b = p.labelBookkeeping
        let capacity = max(0, config.retiredLabelCapacity)
        guard b.retired <= capacity else { throw fail("\(b.retired) retired labels over capacity \(capacity)") }
        guard b.orderLength <= 2 * b.retired + 64 else { throw fail("retired order list \(b.orderLength) for \(b.retired) labels") }
        guard b.meanings <= b.live + b.retired else { throw fail("\(b.meanings) meanings for \(b.live) live + \(b.retired) retired labels") }
    }

    // MARK: the heat matrix

    private func flush(concurrent: OpCounts?) throws {
        clock.advance(Int64(1 + random(15)))
        let t = clock.now
        mem.flush()
        note("flush at \(t)")
        columns.append((t, concurrent == nil && sinceFlushExact ? sinceFlush : nil))
        sinceFlush = .zero
        sinceFlushExact = concurrent == nil
        let capacity = min(HeatMatrixSamplerConfiguration.maxHistoryColumns, max(1, memConfig.historyColumns))
        if columns.count > capacity { columns.removeFirst(columns.count - capacity) }
        let flushed = mem.flushedTotals
        if let before = concurrent {
            for series in Series.allCases where (flushed.routed + flushed.unrouted)[series] < before[series] {
                throw fail("flushed \(series) below what was observed before the flush")
            }
        } else if flushed.routed + flushed.unrouted != observed {
            throw fail("flushed \(flushed.routed + flushed.unrouted), observed \(observed)")
        }
    }

    private func snapshot() throws {
        let series = Series.allCases[random(4)]
        let times = columns.map(\.unixMs)
        let from: Int64? = random(3) == 0 || times.isEmpty ? nil : times[random(times.count)] + Int64(random(3)) - 1
        let to: Int64? = random(3) == 0 || times.isEmpty ? nil : times[random(times.count)] + Int64(random(3))
        let rows = [1, 2, 3, 5, 16, 1024, 0, -4, 5000][random(9)]
        var keys: (start: [UInt8], end: [UInt8])?
        if random(4) == 0 {
            let a = keyPool[random(keyPool.count)], b = random(3) == 0 ? [] : keyPool[random(keyPool.count)]
            keys = b.isEmpty || a.lexicographicallyPrecedes(b) ? (a, b) : (b, a)
        }
        let m = mem.snapshot(series: series, fromUnixMs: from, toUnixMs: to, rows: rows, keys: keys)
        note("snapshot \(series) [\(from.map(String.init) ?? "-"), \(to.map(String.init) ?? "-")) rows \(rows) keys \(keys.map { KeyPreview.render($0.start) + ".." + KeyPreview.render($0.end) } ?? "all"): \(m.rows.count)x\(m.columnUnixMs.count)")
        let budget = min(1024, max(1, rows))
        guard m.rows.count <= budget else { throw fail("snapshot has \(m.rows.count) rows, budget \(budget)") }
        let selected = columns.filter { (from == nil || $0.unixMs >= from!) && (to == nil || $0.unixMs < to!) }
        guard m.columnUnixMs == selected.map(\.unixMs) else { throw fail("snapshot columns \(m.columnUnixMs), model \(selected.map(\.unixMs))") }
        for (j, c) in selected.enumerated() {
            guard m.rows.allSatisfy({ $0.values.count == selected.count }) else { throw fail("ragged rows") }
            if keys == nil, let total = c.total, m.columnTotal(j) &+ m.unrouted[j] != total[series] {
                throw fail("column \(j): rows + unrouted = \(m.columnTotal(j) &+ m.unrouted[j]), observed \(total[series])")
            }
        }
        for (a, b) in zip(m.rows, m.rows.dropFirst()) where b.start.lexicographicallyPrecedes(a.start) { throw fail("rows out of key order") }
        let listed = Set(m.rows.flatMap(\.routeIDs))
        let allListed = m.rows.allSatisfy { !$0.routeIDsTruncated }
        let wanted = catalog.routes.filter { r in
            guard let keys else { return true }
            return (r.end.isEmpty || keys.start.lexicographicallyPrecedes(r.end)) && (keys.end.isEmpty || r.start.lexicographicallyPrecedes(keys.end))
        }
        if allListed, !Set(wanted.map(\.id)).isSubset(of: listed) { throw fail("a catalog route in range has no row") }
        if let keys {
            for r in m.rows where !(r.end.isEmpty || keys.start.lexicographicallyPrecedes(r.end)) || !(keys.end.isEmpty || r.start.lexicographicallyPrecedes(keys.end)) {
                throw fail("row \(r.rowID) lies outside the key range")
            }
        }
        // The streamed merge equals merging the full table.
        let full = mem.snapshot(series: series, fromUnixMs: from, toUnixMs: to, rows: 1024, keys: keys)
        if full.rows.count < 1024, AdjacentRowMerger.merge(full.rows, budget: budget) != m.rows {
            throw fail("snapshot differs from merging the full table")
        }
    }
}

/// A byte-level reader of the `keyviz_*` samples of an exposition, for the model's checks at
/// every render (the general test parser works on Characters and dominated the run time).
enum ModelExposition {
    static func samples(_ body: [UInt8]) -> [ParsedSample] {
        var out: [ParsedSample] = []
        let n = body.count
        var i = 0
        let prefix = Array("keyviz_".utf8)
        while i < n {
            var end = i
            while end < n && body[end] != UInt8(ascii: "\n") { end += 1 }
            defer { i = end + 1 }
            guard end - i > prefix.count, body[i] != UInt8(ascii: "#"), Array(body[i..<(i + prefix.count)]) == prefix else { continue }
            var j = i
            while j < end && body[j] != UInt8(ascii: "{") && body[j] != UInt8(ascii: " ") { j += 1 }
            let name = String(decoding: body[i..<j], as: UTF8.self)
            var labels: [String: String] = [:]
            if j < end && body[j] == UInt8(ascii: "{") {
                j += 1
                while j < end && body[j] != UInt8(ascii: "}") {
                    let nameStart = j
                    while body[j] != UInt8(ascii: "=") { j += 1 }
                    let labelName = String(decoding: body[nameStart..<j], as: UTF8.self)
                    j += 2   // ="
                    var value: [UInt8] = []
                    while body[j] != UInt8(ascii: "\"") {
                        if body[j] == UInt8(ascii: "\\") {
                            j += 1
                            value.append(body[j] == UInt8(ascii: "n") ? UInt8(ascii: "\n") : body[j])
                        } else {
                            value.append(body[j])
                        }
                        j += 1
                    }
                    j += 1
                    if body[j] == UInt8(ascii: ",") { j += 1 }
                    labels[labelName] = String(decoding: value, as: UTF8.self)
                }
                j += 1
            }
            j += 1   // the space before the value
            var valueEnd = j
            while valueEnd < end && body[valueEnd] != UInt8(ascii: " ") { valueEnd += 1 }
            out.append(ParsedSample(name: name, labels: labels, rawLabels: "", value: String(decoding: body[j..<valueEnd], as: UTF8.self)))
        }
        return out
    }
}
