import Foundation
import KeyViz
import KeyVizHTTPHandler
import KeyVizPrometheus

/// The matrix API at cluster scale: `routes` routes, every one with traffic in each of
/// `columns` flushed columns (dense), all in the finest ring. Reports the resident bytes the
/// history grew by per entry, then the median time of `reps` answers to the page's request
/// (`rows=400`) and the default request (1 024 rows), each through the HTTP handler (snapshot
/// and JSON), and of the snapshot alone.
enum MatrixScale {
    struct Result: Encodable {
        var routes: Int, columns: Int, entries: Int
        var build_seconds: Double
        var resident_bytes_per_entry: Double
        var page_request_seconds: Double, default_request_seconds: Double, snapshot_1024_seconds: Double
        var page_body_bytes: Int
        /// Encoding the state file (`encodedHistory()`, what a save does
        /// before writing): time, and the process's peak resident memory above what it held before.
        var save_seconds: Double, save_peak_bytes_per_entry: Double, file_bytes_per_entry: Double
        var load1: Double
    }

    static func run(routes: Int, columns: Int, reps: Int) -> Result {
        let catalog = RouteCatalog.evenlySplit(count: routes, groups: 8)
        let ids = catalog.routes.map(\.id)
        let start = Date()
        let before = Memory.residentBytes()
        let m = HeatMatrixSampler(configuration: .init(stepMilliseconds: 20, historyColumns: columns, coarserTiers: []))
        m.apply(catalog)
        var now: Int64 = 1_750_000_000_000
        for c in 0..<columns {
            for (i, id) in ids.enumerated() {
                m.observe(route: id, op: (i + c) % 3 == 0 ? .write : .read, keyLength: 16, valueLength: 100 + i % 50)
            }
            now += 20
            m.flush(atUnixMs: now)
        }
        let built = Date().timeIntervalSince(start)
        let grown = Memory.residentBytes() - before
        let handler = KeyVizHTTPHandler(metrics: NullMetrics(), matrix: m)
        func median(_ body: () -> Void) -> Double {
            var t: [Double] = []
            for _ in 0..<reps {
                let s = DispatchTime.now().uptimeNanoseconds
                body()
                t.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
            }
            return t.sorted()[t.count / 2]
        }
        var pageBytes = 0
        let page = median {
            let r = waitFor(handler, KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["rows": "400"]))
            precondition(r.status == 200)
            pageBytes = r.body.count
        }
        let full = median {
            let r = waitFor(handler, KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix"))
            precondition(r.status == 200)
        }
        let snap = median {
            let s = m.snapshot(series: .reads)
            precondition(s.columnUnixMs.count == columns)
        }
        // The peak so far is the requests' (their snapshots): reset it to the current size.
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let beforeSave = Memory.residentBytes()
        let saveStart = DispatchTime.now().uptimeNanoseconds
        let fileBytes = m.encodedHistory().count
        let saved = Double(DispatchTime.now().uptimeNanoseconds - saveStart) / 1e9
        let savePeak = max(0, Memory.peakResidentBytes() - beforeSave)
        let entries = Double(routes * columns)
        return Result(routes: routes, columns: columns, entries: routes * columns, build_seconds: built,
                      resident_bytes_per_entry: Double(grown) / entries,
                      page_request_seconds: page, default_request_seconds: full, snapshot_1024_seconds: snap,
                      page_body_bytes: pageBytes, save_seconds: saved, save_peak_bytes_per_entry: Double(savePeak) / entries,
                      file_bytes_per_entry: Double(fileBytes) / entries, load1: loadAverage())
    }

    static func loadAverage() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return -1 }
        return Double(s.split(separator: " ").first ?? "") ?? -1
    }
}

/// No metrics: the matrix benchmark measures the matrix API alone.
struct NullMetrics: MetricsExposition {
    func render(format: ExpositionFormat) -> [UInt8] { [] }
    func register(_ collector: any MetricsCollector) {}
}

/// The handler's answer, waited for on this thread (the benchmark program's own): a local
/// matrix request suspends for nothing, so this measures the snapshot and the JSON.
private func waitFor(_ handler: KeyVizHTTPHandler, _ request: KeyVizHTTPRequest) -> KeyVizHTTPResponse {
    final class Box: @unchecked Sendable { var response: KeyVizHTTPResponse? }
    let box = Box(), done = DispatchSemaphore(value: 0)
    Task {
        box.response = await handler.handle(request)
        done.signal()
    }
    done.wait()
    return box.response!
}
