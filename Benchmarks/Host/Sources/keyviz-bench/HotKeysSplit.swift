import Dispatch
import KeyViz
import KeyVizPrometheus

/// Issue 23's two hot-key costs, measured apart: what `HotKeySampler` at its defaults adds to
/// the thread that calls the key-carrying chain (countdown and sample copy; in a host the
/// drains run in `runDrainer`'s task, not on that thread), and what a drain costs per sample it
/// takes. Each repetition times, on one thread, the chain alone and the chain under the hot-key
/// sampler over the same Zipf sequence (their order alternates), the hot-key run in chunks of
/// 16 384 observations with an untimed-for-the-observer, separately timed drain after each.
enum HotKeysSplit {
    struct Result: Encodable {
        var chain_ns: [Double]
        var hotkeys_observe_ns: [Double]
        var drain_ns_per_sample: [Double]
        var samples_per_rep: UInt64
        var load1: Double
    }

    static func run(reps: Int) -> Result {
        let catalog = RouteCatalog.evenlySplit(count: HotPath.routes, groups: 4)
        let ids = RouteIDs(.zipf(routes: HotPath.routes))
        let chunk = 16_384, chunks = 32
        let chain = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false))
        chain.apply(catalog)
        let hot = HotKeySampler(wrapping: PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false)))
        hot.apply(catalog)
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        func timeChain() -> Double {
            let t0 = now()
            observeKeyedLoop(chain, ids.buffer, from: 0, count: chunk * chunks)
            return Double(now() - t0) / Double(chunk * chunks)
        }
        var samples: UInt64 = 0
        func timeHot() -> (Double, Double) {
            var observing: UInt64 = 0, draining: UInt64 = 0
            let before = hot.sampleCounts.taken
            for c in 0..<chunks {
                let t0 = now()
                observeKeyedLoop(hot, ids.buffer, from: c * chunk, count: chunk)
                let t1 = now()
                hot.drain()
                let t2 = now()
                observing += t1 - t0
                draining += t2 - t1
            }
            samples = hot.sampleCounts.taken - before
            return (Double(observing) / Double(chunk * chunks), Double(draining) / Double(max(1, samples)))
        }
        _ = timeChain(); _ = timeHot()    // warm-up: layouts, sketches and queues allocated
        var result = Result(chain_ns: [], hotkeys_observe_ns: [], drain_ns_per_sample: [], samples_per_rep: 0, load1: 0)
        for rep in 0..<reps {
            var a = 0.0, b = (0.0, 0.0)
            if rep % 2 == 0 { a = timeChain(); b = timeHot() } else { b = timeHot(); a = timeChain() }
            result.chain_ns.append(a)
            result.hotkeys_observe_ns.append(b.0)
            result.drain_ns_per_sample.append(b.1)
        }
        result.samples_per_rep = samples
        result.load1 = MatrixScale.loadAverage()
        return result
    }
}
