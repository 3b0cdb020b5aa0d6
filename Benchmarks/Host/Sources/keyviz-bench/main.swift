import Dispatch
import Foundation
import KeyViz

// keyviz-bench: the figures of docs/performance.md, measured from a host package.
//   keyviz-bench hotpath [REPS] [RUN_µs] [CASE...]   ns per observation, 1 and 2 threads (JSON)
//   keyviz-bench [count] CASE COUNT              COUNT observations of CASE on one thread (for callgrind)
//   keyviz-bench hotkeys-split [REPS]            hot keys: observer ns beside the chain's, drain ns per sample (JSON)
//   keyviz-bench render [REPS] [ROUTES]          render 256 and 4 096 buckets vs swift-prometheus emit (JSON)
//   keyviz-bench memory ROUTES KIND THREADS      resident bytes of decorator|matrix|chain (JSON)
//   keyviz-bench render-only BUCKETS STRIDE REPS  REPS KeyViz renders of 100 000 routes, every STRIDE-th
//                                                touched before each (for profiling under callgrind)
//   keyviz-bench render-touched TOUCHED REPS ROUTES...  median ns of a 256-bucket render with TOUCHED
//                                                routes touched before each, per catalog size (JSON)
//   keyviz-bench matrix ROUTES COLUMNS REPS      the matrix API over ROUTES × COLUMNS dense history:
//                                                bytes per entry, page/default request, snapshot (JSON)
// scripts/bench-all.sh runs them all and writes the tables of docs/performance.md.

func usage() -> Never {
    print("""
    usage: keyviz-bench hotpath [REPS] [RUN_MICROSECONDS] [CASE...]   (default: 10 000 µs, every case)
           keyviz-bench [count] CASE COUNT      (CASE as in hotpath's output, e.g. chain/zipf)
           keyviz-bench hotkeys-split [REPS]
           keyviz-bench render [REPS] [ROUTES]
           keyviz-bench memory ROUTES decorator|matrix|chain THREADS
           keyviz-bench render-only BUCKETS STRIDE REPS
           keyviz-bench render-touched TOUCHED REPS ROUTES...
           keyviz-bench matrix ROUTES COLUMNS REPS
    """)
    exit(2)
}

let args = CommandLine.arguments.dropFirst()
func intArg(_ i: Int, _ fallback: Int) -> Int {
    guard args.count > i else { return fallback }
    guard let v = Int(args[args.startIndex + i]), v > 0 else { usage() }
    return v
}

switch args.first {
case "hotpath":
    let reps = intArg(1, 21), runMicros = intArg(2, 10_000)
    let only = args.dropFirst(3)   // optional case ids; the ceiling always runs
    let cases = HotPath.cases(observations: 100_000) { id in only.isEmpty || id == "atomics/independent" || only.contains(id) }
    let pool = WorkerPool(size: 2)
    // Every run lasts about `runMicros` on one thread (the count per case is calibrated once), so
    // the ceiling's runs are as exposed to the machine's neighbours as the cases' runs.
    var perThread: [String: Int] = [:]
    for c in cases where c.threads == 1 {
        _ = pool.run(threads: 1) { t in c.body(t, c.perThread) }   // warm-up
        let wall = (0..<3).map { _ in pool.run(threads: 1) { t in c.body(t, c.perThread) } }.min()!
        perThread[c.id] = max(1_000, Int(Double(runMicros) * 1_000 / (Double(wall) / Double(c.perThread))))
    }
    func time(_ c: HotCase) -> Double {
        let n = perThread[c.id]!
        return Double(pool.run(threads: c.threads) { t in c.body(t, n) }) / Double(c.threads * n)
    }
    for c in cases where c.threads == 2 { _ = time(c) }   // warm-up
    // Each case runs as a block: ceiling on 1 thread, the case on 1, ceiling on 2, the case on 2,
    // so its scaling is compared with the ceiling's measured within the same ~0.1 s (the
    // machine's load moves on a scale of seconds). The blocks' order rotates per repetition.
    let ceiling = [1, 2].map { t in cases.first { $0.id == "atomics/independent" && $0.threads == t }! }
    let ids = cases.map(\.id).reduce(into: [String]()) { if $1 != "atomics/independent" && !$0.contains($1) { $0.append($1) } }
    var ns: [String: [Double]] = [:]
    var blocks: [String: [[Double]]] = [:]
    for rep in 0..<reps {
        for k in 0..<ids.count {
            let id = ids[(k + rep) % ids.count]
            let one = cases.first { $0.id == id && $0.threads == 1 }!, two = cases.first { $0.id == id && $0.threads == 2 }!
            let block = [time(ceiling[0]), time(one), time(ceiling[1]), time(two)]
            blocks[id, default: []].append(block)
            ns["atomics/independent#1", default: []].append(block[0])
            ns["\(id)#1", default: []].append(block[1])
            ns["atomics/independent#2", default: []].append(block[2])
            ns["\(id)#2", default: []].append(block[3])
        }
    }
    let rows = cases.map { c in
        "{\"id\": \"\(c.id)\", \"threads\": \(c.threads), \"perThread\": \(perThread[c.id]!), \"ns\": \(ns["\(c.id)#\(c.threads)"] ?? [])}"
    }
    let blockRows = ids.map { "\"\($0)\": \(blocks[$0] ?? [])" }
    print("{\"hotpath\": [\n" + rows.joined(separator: ",\n") + "\n],\n\"blocks\": {\n" + blockRows.joined(separator: ",\n") + "\n}}")
case .some(let first) where first == "count" || first.contains("/"):
    // `count CASE COUNT`, or `CASE COUNT` (how scripts/check-instructions.py calls a binary).
    let shift = first == "count" ? 1 : 0
    guard args.count == 2 + shift else { usage() }
    let id = args[args.startIndex + shift], n = intArg(1 + shift, 0)
    guard let c = HotPath.cases(observations: n, threads: [1], want: { $0 == id }).first else {
        print("keyviz-bench count: unknown case \(id)")
        exit(2)
    }
    c.body(0, c.perThread)
case "hotkeys-split":
    let r = HotKeysSplit.run(reps: intArg(1, 101))
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    print(String(decoding: try! enc.encode(r), as: UTF8.self))
case "render":
    Render.run(routes: intArg(2, 100_000), buckets: [256, 4096], reps: intArg(1, 31))
case "matrix":
    let r = MatrixScale.run(routes: intArg(1, 100_000), columns: intArg(2, 1_440), reps: intArg(3, 5))
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    print(String(decoding: try! enc.encode(r), as: UTF8.self))
case "render-touched":
    // How a render's cost grows with the catalog when the same number of routes changed.
    let touched = intArg(1, 1000), reps = intArg(2, 21)
    let sizes = args.dropFirst(3).compactMap { Int($0) }
    // Every size's chain is built first, then each repetition renders every size once: this
    // machine's speed drifts over seconds (a render of the same chain takes 70 or 120 µs
    // depending on when it runs), so sizes measured one after the other compared periods, not sizes.
    let routeCounts = sizes.isEmpty ? [10_000, 100_000, 1_000_000, 10_000_000] : sizes
    let cases = routeCounts.map { Render.keyviz(routes: $0, buckets: 256, stride: max(1, $0 / touched)) }
    var times = [[UInt64]](repeating: [], count: cases.count)
    for _ in 0..<reps {
        for (i, c) in cases.enumerated() {
            c.prepare()
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = c.render()
            times[i].append(DispatchTime.now().uptimeNanoseconds - t0)
        }
    }
    for (i, routes) in routeCounts.enumerated() {
        let t = times[i].sorted()
        print("{\"routes\": \(routes), \"touched\": \(cases[i].touched), \"median_ns\": \(t[t.count / 2]), \"min_ns\": \(t[0])}")
    }
case "render-only":
    let c = Render.keyviz(routes: 100_000, buckets: intArg(1, 256), stride: intArg(2, 100))
    for _ in 0..<intArg(3, 10) {
        c.prepare()
        _ = c.render()
    }
case "memory":
    guard args.count == 4 else { usage() }
    Memory.run(routes: intArg(1, 0), kind: args[args.startIndex + 2], threads: intArg(3, 1))
default:
    usage()
}
