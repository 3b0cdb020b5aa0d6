import Foundation
import KeyViz
import KeyVizPrometheus
import KeyVizTestKit

// Resident bytes per tracked route: builds a catalog of N routes, applies it to a sampler,
// touches every route once and folds (one render or flush), then reports the growth of resident
// memory over the catalog alone, divided by N. Usage: keyviz-memory N [decorator|chain|mem] [stripes]
// `keyviz-memory N tiers`: the heat matrix's history per route per tier, every route with traffic
// in every column (the worst case), in the demo's tiers (1 s × 3600, 1 min × 1440, 10 min × 1008).

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
    // The finest tier by flushing (3600 columns of all N routes).
    let fine = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 3_600, stripes: 1))
    fine.apply(catalog)
    let t0: Int64 = 1_700_000_000_000
    for i in 0..<3_600 {
        for r in catalog.routes { fine.observe(route: r.id, op: .write, keyLength: 8, valueLength: 8) }
        fine.flush(atUnixMs: t0 + Int64(i + 1) * 1_000)
    }
    let afterFine = residentBytes()
    keep.append(fine)
    print("tier 1 s × 3600: \(afterFine - before) bytes resident, \(String(format: "%.1f", Double(afterFine - before) / Double(n))) bytes per route, \(String(format: "%.1f", Double(afterFine - before) / Double(n * 3_600))) per route per column")
    // The coarser tiers, full, through restore (filling them by flushing takes 690 000 flushes).
    var last = afterFine
    for (step, columns) in [(60_000 as Int64, 1_440), (600_000 as Int64, 1_008)] {
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 1, stripes: 1,
                                                       coarserTiers: [.init(stepMilliseconds: step, columns: columns)]))
        var cols: [MatrixColumn] = []
        for j in 0..<columns {
            // Arrays of its own per column, as flushes make (the routes' key bytes are shared).
            cols.append(MatrixColumn(unixMs: t0 + Int64(j + 1) * step, routes: catalog.routes.map { $0 },
                                     counts: catalog.routes.map { _ in OpCounts(writes: 60, writeBytes: 960) }, unrouted: .zero))
        }
        m.restore(MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: []), .init(stepMilliseconds: step, columns: cols)]))
        cols = []
        let now = residentBytes()
        keep.append(m)
        print("tier \(step / 1000) s × \(columns): \(now - last) bytes resident, \(String(format: "%.1f", Double(now - last) / Double(n))) bytes per route, \(String(format: "%.1f", Double(now - last) / Double(n * columns))) per route per column")
        last = now
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
