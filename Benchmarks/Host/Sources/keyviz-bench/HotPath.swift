import KeyViz
import KeyVizPrometheus
import KeyVizTestKit
import Prometheus

/// One hot-path measurement: a sampler (or peer), a route pattern and a thread count.
struct HotCase: Sendable {
    /// "sampler/pattern", also the name `keyviz-bench count` takes.
    let id: String
    let threads: Int
    /// Observations each thread makes per repetition.
    let perThread: Int
    let body: @Sendable (_ thread: Int, _ count: Int) -> Void
}

/// Route ids copied to memory that is never freed, so loops get a buffer without retains.
/// `@unchecked Sendable`: immutable after init.
final class RouteIDs: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<RouteID>
    init(_ workload: Workload) {
        let p = UnsafeMutableBufferPointer<RouteID>.allocate(capacity: workload.ids.count)
        _ = p.initialize(from: workload.ids)
        buffer = UnsafeBufferPointer(p)
    }
    /// Where thread `t` starts, so two threads walk different parts of a Zipf sequence.
    func start(thread t: Int) -> Int { t * (buffer.count / 2) }
}

enum HotPath {
    static let routes = 10_000
    static let hotRoute = RouteID(4_321)

    /// The patterns every sampler is measured with.
    static func patterns() -> [(String, RouteIDs)] {
        [("fixed", RouteIDs(.fixed(route: hotRoute))), ("zipf", RouteIDs(.zipf(routes: routes)))]
    }

    /// Every case wanted by `want(id)`, for the given thread counts (samplers are only built
    /// for wanted cases). `observations` is per thread.
    static func cases(observations n: Int, threads: [Int] = [1, 2], want: (String) -> Bool = { _ in true }) -> [HotCase] {
        let catalog = RouteCatalog.evenlySplit(count: routes, groups: 4)
        var cases: [HotCase] = []
        func add(_ id: String, perThread: Int, _ make: () -> @Sendable (Int, Int) -> Void) {
            guard want(id) else { return }
            for t in threads { cases.append(HotCase(id: id, threads: t, perThread: perThread, body: make())) }
        }
        for (pattern, ids) in patterns() {
            add("matrix/\(pattern)", perThread: n) {
                let matrix = HeatMatrixSampler()
                matrix.apply(catalog)
                return { th, c in observeLoop(matrix, ids.buffer, from: ids.start(thread: th), count: c) }
            }
            add("chain/\(pattern)", perThread: n) {
                let chain = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false))
                chain.apply(catalog)
                return { th, c in observeLoop(chain, ids.buffer, from: ids.start(thread: th), count: c) }
            }
            add("chain-keyed/\(pattern)", perThread: n) {
                let chain = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false))
                chain.apply(catalog)
                return { th, c in observeKeyedLoop(chain, ids.buffer, from: ids.start(thread: th), count: c) }
            }
            // The hot-key sampler at its defaults around the chain, drained every 16 384
            // observations by thread 0 inside the timed loop (as a host's drainer would), so
            // the sketches' cost is counted.
            add("chain-hotkeys/\(pattern)", perThread: n) {
                let chain = HotKeySampler(wrapping: PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false)))
                chain.apply(catalog)
                return { th, c in
                    var done = 0
                    while done < c {
                        let step = min(16_384, c - done)
                        observeKeyedLoop(chain, ids.buffer, from: ids.start(thread: th) &+ done, count: step)
                        if th == 0 { chain.drain() }
                        done += step
                    }
                }
            }
            // swift-prometheus 2.4.1 at its best: a counter per route created up front.
            add("swift-prometheus-counter/\(pattern)", perThread: n) {
                let registry = PrometheusCollectorRegistry()
                let name = PeerDescriptor("ops")
                let counters = (0...routes).map { registry.makeCounter(descriptor: name.descriptor, labels: [("route", String($0))]) }
                return { th, c in counterLoop(counters, ids.buffer, from: ids.start(thread: th), count: c) }
            }
        }
        // swift-prometheus the common way: look the counter up by its labels, then add
        // (~50x slower, so 1/50 of the observations).
        add("swift-prometheus-lookup/zipf", perThread: max(1, n / 50)) {
            let registry = PrometheusCollectorRegistry()
            let name = PeerDescriptor("ops")
            let labels = (0...routes).map { String($0) }
            for l in labels { _ = registry.makeCounter(descriptor: name.descriptor, labels: [("route", l)]) }
            let zipf = RouteIDs(.zipf(routes: routes))
            return { th, c in lookupLoop(registry, name, labels, zipf.buffer, from: zipf.start(thread: th), count: c) }
        }
        add("atomics/independent", perThread: n) {
            let atomics = PaddedAtomics(threads: 2)
            return { th, c in atomics.addLoop(thread: th, count: c) }
        }
        return cases
    }
}

@inline(never)
func counterLoop(_ counters: [Prometheus.Counter], _ ids: UnsafeBufferPointer<RouteID>, from start: Int, count: Int) {
    let mask = ids.count - 1
    for i in start..<(start &+ count) { counters[Int(ids[i & mask].rawValue)].increment() }
}

@inline(never)
func lookupLoop(_ registry: PrometheusCollectorRegistry, _ name: PeerDescriptor, _ labels: [String], _ ids: UnsafeBufferPointer<RouteID>, from start: Int, count: Int) {
    let mask = ids.count - 1
    for i in start..<(start &+ count) {
        registry.makeCounter(descriptor: name.descriptor, labels: [("route", labels[Int(ids[i & mask].rawValue)])]).increment()
    }
}
