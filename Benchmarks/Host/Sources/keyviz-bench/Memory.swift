import Foundation
import KeyViz
import KeyVizPrometheus
import KeyVizTestKit

/// Resident bytes per tracked route: build a catalog of `routes` routes, start the worker
/// threads, read resident memory; then apply the catalog, have each of `threads` threads
/// observe every route once (each thread writes its own counter stripe, as a host's workers
/// do), fold (a render and/or a flush), read resident memory again. The growth divided by the
/// route count is what the sampler costs per route; the catalog itself is not counted.
enum Memory {
    static func residentBytes() -> Int { statusBytes("VmRSS:") }

    /// The process's peak resident memory so far (VmHWM).
    static func peakResidentBytes() -> Int { statusBytes("VmHWM:") }

    /// A size field of /proc/self/status (in kB there), in bytes; 0 when unreadable.
    private static func statusBytes(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
        }
        return 0
    }

    static func run(routes: Int, kind: String, threads: Int) {
        let catalog = RouteCatalog.evenlySplit(count: routes, groups: 8)
        let ids = catalog.routes.map(\.id)
        let pool = WorkerPool(size: threads)
        _ = pool.run(threads: threads) { _ in }
        let before = residentBytes()
        var keep: [AnyObject] = []
        func touch(_ s: some Sampler) {
            _ = pool.run(threads: threads) { _ in
                for id in ids { s.observe(route: id, op: .write, keyLength: 8, valueLength: 8) }
            }
        }
        switch kind {
        case "matrix":
            let m = HeatMatrixSampler(configuration: .init(historyColumns: 1))
            m.apply(catalog)
            touch(m)
            m.flush()
            keep.append(m)
        case "chain":
            let m = HeatMatrixSampler(configuration: .init(historyColumns: 1))
            let p = PrometheusSampler(wrapping: m, configuration: .init(processMetrics: false))
            p.apply(catalog)
            touch(p)
            _ = p.render(format: .prometheusText)
            m.flush()
            keep.append(p)
        case "decorator":
            let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false))
            p.apply(catalog)
            touch(p)
            _ = p.render(format: .prometheusText)
            keep.append(p)
        default:
            print("keyviz-bench memory: unknown kind \(kind) (decorator, matrix, chain)")
            exit(2)
        }
        let after = residentBytes()
        print("{\"kind\": \"\(kind)\", \"routes\": \(routes), \"threads\": \(threads), \"bytes\": \(after - before)}")
        withExtendedLifetime(keep) {}
    }
}
