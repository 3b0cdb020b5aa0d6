import Benchmark
import Foundation
import KeyViz
import KeyVizPrometheus
import KeyVizTestKit
import Prometheus
import Synchronization

// The cost of one observation on the hot path, single thread and two threads, against the
// floor (one relaxed atomic add) and swift-prometheus 2.4.1. Each iteration is 1 000 000
// observations (`scalingFactor: .mega`), so the reported time per iteration in µs reads as
// ns per observation; two-thread cases split the million between two threads.

private let routes = 1024
private let catalog = RouteCatalog.evenlySplit(count: routes, groups: 4)

/// Runs `body(thread, count)` on `threads` threads at once, `total / threads` each.
private func onThreads(_ threads: Int, total: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
    if threads == 1 { body(0, total); return }
    let group = DispatchGroup()
    for t in 0..<threads {
        group.enter()
        Thread { body(t, total / threads); group.leave() }.start()
    }
    group.wait()
}

/// One benchmark per (name, threads, same route) with the per-observation work in `observe`.
private func hotPath(_ name: String, _ observe: @escaping @Sendable (_ thread: Int, _ i: Int, _ sameRoute: Bool) -> Void) {
    for (threads, same, suffix) in [(1, true, "1 thread"), (2, true, "2 threads, same route"), (2, false, "2 threads, different routes")] {
        Benchmark("\(name) (\(suffix))", configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                                            scalingFactor: .mega, maxDuration: .seconds(2), maxIterations: 20)) { benchmark in
            onThreads(threads, total: benchmark.scaledIterations.count) { t, n in
                for i in 0..<n { observe(t, i, same) }
            }
        }
    }
}

/// Two atomics 128 bytes apart (never on one cache line).
/// `@unchecked`: a `let` pointer to memory holding only atomics, never freed.
private final class SharedAtomics: @unchecked Sendable {
    let base: UnsafeMutablePointer<Atomic<UInt64>>
    init() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 128)
        base = raw.bindMemory(to: Atomic<UInt64>.self, capacity: 32)
        for i in 0..<32 { (base + i).initialize(to: Atomic(0)) }
    }
    func add(_ which: Int) { base[which * 16].wrappingAdd(1, ordering: .relaxed) }
}

/// swift-prometheus' descriptor is not Sendable; it is only read here.
private final class DescriptorBox: @unchecked Sendable {
    let descriptor: MetricNameDescriptor
    init(_ d: MetricNameDescriptor) { descriptor = d }
}

let benchmarks: @Sendable () -> Void = {
    // 1. The floor: one relaxed add on one atomic (or one per thread, a cache line apart).
    let atomics = SharedAtomics()
    hotPath("floor: Atomic<UInt64> relaxed add") { t, _, same in
        atomics.add(same ? 0 : t)
    }

    // 2. HeatMatrixSampler alone.
    let mem = HeatMatrixSampler()
    mem.apply(catalog)
    hotPath("HeatMatrixSampler.observe") { t, i, same in
        mem.observe(route: same ? 7 : RouteID(7 + t * 100), op: i & 3 == 0 ? .write : .read, keyLength: 16, valueLength: 100)
    }

    // 3. The Prometheus decorator's own cost (wrapping a sampler that does nothing).
    let decorator = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false))
    decorator.apply(catalog)
    hotPath("PrometheusSampler<NoopSampler>.observe") { t, i, same in
        decorator.observe(route: same ? 7 : RouteID(7 + t * 100), op: i & 3 == 0 ? .write : .read, keyLength: 16, valueLength: 100)
    }

    // 4. The full chain: decorator -> HeatMatrixSampler.
    let chainInner = HeatMatrixSampler()
    let chain = PrometheusSampler(wrapping: chainInner, configuration: .init(processMetrics: false))
    chain.apply(catalog)
    hotPath("chain: PrometheusSampler<HeatMatrixSampler>.observe") { t, i, same in
        chain.observe(route: same ? 7 : RouteID(7 + t * 100), op: i & 3 == 0 ? .write : .read, keyLength: 16, valueLength: 100)
    }

    // 4b. The chain with the key-carrying call, then under hot-key sampling at R = 1024 and
    //     R = 16 (what the coordinator calls: the key's bytes, 16 of them).
    let key = [UInt8](repeating: 0x6b, count: 16)
    let keyedChain = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false))
    keyedChain.apply(catalog)
    hotPath("chain, key-carrying observe") { t, i, same in
        keyedChain.observe(route: same ? 7 : RouteID(7 + t * 100), op: i & 3 == 0 ? .write : .read, key: key, valueLength: 100)
    }
    for r in [1024, 16] {
        let hot = HotKeySampler(wrapping: PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false)),
                                configuration: .init(sampleEvery: r, queueCapacity: 65_536))
        hot.apply(catalog)
        hotPath("chain + HotKeySampler R=\(r), key-carrying observe") { t, i, same in
            hot.observe(route: same ? 7 : RouteID(7 + t * 100), op: i & 3 == 0 ? .write : .read, key: key, valueLength: 100)
            if i & 0xFFFF == 0 { hot.drain() }   // the background step, amortised
        }
    }

    // 5a. swift-prometheus, best case: one pre-created counter per route, held in an array.
    //     (Metric and label names avoid the digits 1-8, which take 2.4.1's slow validation path.)
    let registry = PrometheusCollectorRegistry()
    let box = DescriptorBox(MetricNameDescriptor(namespace: "keyviz", subsystem: "peer", metricName: "ops", unitName: "total", helpText: "Peer ops."))
    let prebound: [Prometheus.Counter] = (0..<routes).map { registry.makeCounter(descriptor: box.descriptor, labels: [("route", String($0))]) }
    hotPath("swift-prometheus: pre-created Counter.increment") { t, _, same in
        prebound[same ? 7 : 7 + t * 100].increment()
    }

    // 5b. swift-prometheus as most apps write it: look the counter up by labels, then increment.
    let routeLabels = (0..<routes).map { String($0) }
    hotPath("swift-prometheus: makeCounter(descriptor:labels:) + increment") { t, i, same in
        let r = same ? 7 : 7 + t * 100 + (i & 15)
        registry.makeCounter(descriptor: box.descriptor, labels: [("route", routeLabels[r])]).increment()
    }
}
