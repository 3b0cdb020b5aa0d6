// keyviz-instructions CASE COUNT: runs COUNT observations of CASE on one thread, Zipf-like over
// 10 000 routes (a fixed precomputed sequence, so every run executes the same instructions).
// scripts/check-instructions.py runs it under callgrind at two counts and divides the
// difference by the difference in counts: setup and teardown cancel out.
import KeyViz
import KeyVizPrometheus
import KeyVizTestKit

let routeCount = 10_000
let catalog = RouteCatalog.evenlySplit(count: routeCount, groups: 4)
let key = [UInt8](repeating: 0x6b, count: 16)

// 4 096 route ids drawn Zipf(1)-like by a power of a uniform draw, fixed by the seed.
var rng = SeededRandom(seed: 42)
let sequence: [RouteID] = (0..<4096).map { _ in
    let u = Double(rng.next() >> 11) / Double(1 << 53)
    return RouteID(1 + Int(Double(routeCount - 1) * u * u * u * u))
}

@inline(never)
func run(_ sampler: some Sampler, count: Int, keyed: Bool) {
    for i in 0..<count {
        let route = sequence[i & 4095]
        let op: Op = i & 3 == 0 ? .write : .read
        if keyed {
            sampler.observe(route: route, op: op, key: key, valueLength: 100)
        } else {
            sampler.observe(route: route, op: op, keyLength: 16, valueLength: 100)
        }
    }
}

let args = CommandLine.arguments
guard args.count == 3, let count = Int(args[2]), count >= 0 else {
    print("usage: keyviz-instructions memsampler|chain|chain-keyed|chain-hotkeys-1024|chain-hotkeys-default|render-changed COUNT")
    exit(2)
}
switch args[1] {
case "memsampler":
    let s = HeatMatrixSampler()
    s.apply(catalog)
    run(s, count: count, keyed: false)
case "chain":
    let s = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false))
    s.apply(catalog)
    run(s, count: count, keyed: false)
case "chain-keyed":
    let s = PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false))
    s.apply(catalog)
    run(s, count: count, keyed: true)
case "chain-hotkeys-1024":
    let s = HotKeySampler(wrapping: PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false)),
                          configuration: .init(sampleEvery: 1024, queueCapacity: 65_536))
    s.apply(catalog)
    run(s, count: count, keyed: true)
case "chain-hotkeys-default":
    // The default configuration (1 in 64, 16 routes × 64 keys), drained every 16 384
    // observations inside the loop as a host's drainer would: the sketches' cost is included.
    let s = HotKeySampler(wrapping: PrometheusSampler(wrapping: HeatMatrixSampler(), configuration: .init(processMetrics: false)))
    s.apply(catalog)
    var done = 0
    while done < count {
        let n = min(16_384, count - done)
        run(s, count: n, keyed: true)
        s.drain()
        done += n
    }
case "render-changed":
    // Every route of the catalog observed once, then one `/metrics` render (256 buckets), COUNT
    // observations in all: per observation, the chain's cost plus the render's per changed route.
    let s = PrometheusSampler(wrapping: HeatMatrixSampler(configuration: .init(historyColumns: 1)),
                              configuration: .init(bucketBudget: 256, processMetrics: false))
    s.apply(catalog)
    _ = s.render(format: .prometheusText)
    let ids = catalog.routes.map(\.id)
    var done = 0
    while done < count {
        let n = min(ids.count, count - done)
        for i in 0..<n { s.observe(route: ids[i], op: .write, keyLength: 16, valueLength: 64) }
        _ = s.render(format: .prometheusText)
        done += n
    }
default:
    print("unknown case \(args[1])")
    exit(2)
}

#if canImport(Glibc)
import Glibc
#endif
