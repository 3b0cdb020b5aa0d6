import Foundation
import KeyViz
import KeyVizPrometheus
import KeyVizTestKit

// Resident bytes per tracked route: builds a catalog of N routes, applies it to a sampler,
// touches every route once and folds (one render or flush), then reports the growth of resident
// memory over the catalog alone, divided by N. Usage: keyviz-memory N [decorator|chain|mem] [stripes]

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
