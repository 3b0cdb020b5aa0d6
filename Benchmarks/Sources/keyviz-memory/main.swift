import Foundation
import KeyViz
import KeyVizPrometheus
import KeyVizTestKit

// Resident bytes per tracked route: builds a catalog of N routes, applies it to a sampler,
// touches every route once and folds (one render or flush), then reports the growth of resident
// memory over the catalog alone, divided by N. Usage: keyviz-memory N [decorator|chain|mem] [stripes]
// `keyviz-memory N tiers`: the heat matrix's history per route per tier, every route with traffic
// in every column (the worst case), in the demo's tiers (1 s × 3600, 1 min × 1440, 10 min × 1008).
// `keyviz-memory N flush`: the time of one flush with and without a coarser tier.

func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
    }
    return 0
}

let args = CommandLine.arguments
let n = args.count > 1 ? Int(args[1]) ?? 100_000 : 100_000
let kind = args.count > 2 ? args[2] : "decorator"
let stripes = args.count > 3 ? Int(args[3]) : nil
let catalog = RouteCatalog.evenlySplit(count: n, groups: 8)
let before = residentBytes()
var keep: [AnyObject] = []
switch kind {
case "tiers":
    // Each tier filled by real flushes, every route in every column. A coarse tier's cost per
    // column does not depend on its step, so the coarse tiers are filled fast: a 1 ms finest
    // ring of one column feeding a 2 ms tier (two flushes per coarse column).
    var last = before
    for (name, columns, coarse) in [("1 s × 3600", 3_600, false), ("1 min × 1440", 1_440, true), ("10 min × 1008", 1_008, true)] {
        let m = coarse
            ? HeatMatrixSampler(configuration: .init(stepMilliseconds: 1, historyColumns: 1, stripes: 1,
                                                     coarserTiers: [.init(stepMilliseconds: 2, columns: columns)]))
            : HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: columns, stripes: 1))
        m.apply(catalog)
        let flushes = coarse ? 2 * (columns + 2) : columns
        for i in 0..<flushes {
            for r in catalog.routes { m.observe(route: r.id, op: .write, keyLength: 8, valueLength: 8) }
            m.flush(atUnixMs: 1_700_000_000_000 + Int64(i + 1) * (coarse ? 1 : 1_000))
        }
        let now = residentBytes()
        keep.append(m)
        print("tier \(name): \(now - last) bytes resident for \(n) routes: \(String(format: "%.0f", Double(now - last) / Double(n))) bytes per route, \(String(format: "%.1f", Double(now - last) / Double(n * columns))) per route per column")
        last = now
    }
case "flush":
    // Not memory: the time of one flush with a full finest ring, without and with a coarser
    // tier (each flush then adds the evicted column into the tier's pending column), every
    // route observed once per column. Median of 300 flushes.
    for tiered in [false, true] {
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 60, stripes: 1,
                                                       coarserTiers: tiered ? [.init(stepMilliseconds: 60_000, columns: 10)] : []))
        m.apply(catalog)
        var times: [Double] = []
        for i in 0..<360 {
            for r in catalog.routes { m.observe(route: r.id, op: .write, keyLength: 8, valueLength: 8) }
            let t = DispatchTime.now().uptimeNanoseconds
            m.flush(atUnixMs: 1_700_000_000_000 + Int64(i + 1) * 1_000)
            if i >= 60 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1000) }
        }
        times.sort()
        print("flush, \(n) routes per column, \(tiered ? "with a 60 s tier" : "finest ring only"): median \(String(format: "%.0f", times[times.count / 2])) µs")
        keep.append(m)
    }
case "mem":
    let m = HeatMatrixSampler(configuration: .init(historyColumns: 1, stripes: stripes))
    m.apply(catalog)
    for r in catalog.routes { m.observe(route: r.id, op: .write, keyLength: 8, valueLength: 8) }
    m.flush()
    keep.append(m)
case "chain":
    let m = HeatMatrixSampler(configuration: .init(historyColumns: 1, stripes: stripes))
    let p = PrometheusSampler(wrapping: m, configuration: .init(stripes: stripes, processMetrics: false))
    p.apply(catalog)
    for r in catalog.routes { p.observe(route: r.id, op: .write, keyLength: 8, valueLength: 8) }
    _ = p.render(format: .prometheusText)
    m.flush()
    keep.append(p)
default:
    let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(stripes: stripes, processMetrics: false))
    p.apply(catalog)
    for r in catalog.routes { p.observe(route: r.id, op: .write, keyLength: 8, valueLength: 8) }
    _ = p.render(format: .prometheusText)
    keep.append(p)
}
let after = residentBytes()
print("\(kind) stripes=\(stripes.map(String.init) ?? "default") routes=\(n): \(after - before) bytes resident, \(String(format: "%.1f", Double(after - before) / Double(n))) bytes per route")
withExtendedLifetime(keep) {}
