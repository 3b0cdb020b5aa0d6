#if !Demo
// Built without its trait (a plain `swift build` of the package): say how to build it for real.
import Foundation
FileHandle.standardError.write(Data("keyviz-demo: built without the Demo trait; build it with `swift build --traits Demo --product keyviz-demo` (make demo does)\n".utf8))
exit(64)
#else
import CKeyVizMalloc
import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizStateFile
import Logging
import ArgumentParser

// Process-wide malloc policy, so it is the demo's call and not the library's: glibc's mmap
// threshold fixed at 128 KiB returns scrape buffers (built on per-connection threads) to the
// system when freed; with its dynamic threshold they stay in per-thread arenas and resident
// memory creeps up with each new connection thread. No effect where mallopt is not glibc's.
keyviz_fix_mmap_threshold(128 * 1024)

// Block SIGINT/SIGTERM (and SIGUSR1) before any thread starts so every thread inherits the mask
// and the main thread alone receives them through sigtimedwait.
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGINT)
sigaddset(&signals, SIGTERM)
sigaddset(&signals, SIGUSR1)
pthread_sigmask(SIG_BLOCK, &signals, nil)

let options: DemoOptions
do {
    options = try DemoOptions.parse()
} catch {
    // --help (and --version) print in full and exit 0; every bad flag is one line and exit 2.
    if DemoOptions.exitCode(for: error) == .success {
        print(DemoOptions.fullMessage(for: error))
        exit(0)
    }
    let message = DemoOptions.message(for: error).split(separator: "\n").first.map(String.init) ?? "bad command line"
    FileHandle.standardError.write(Data("keyviz-demo: \(message) (see --help)\n".utf8))
    exit(2)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("keyviz-demo: \(message)\n".utf8))
    exit(1)
}

// --check-state FILE: what a state file holds (scripts/check-state-dir.py reads this line).
if let path = options.checkState {
    do {
        guard let h = try MatrixStateFile.read(path: path) else { fail("no state file at \(path)") }
        let steps = h.tiers.map { "\($0.stepMilliseconds)ms:\($0.columns.count)+\($0.pending == nil ? 0 : 1)" }.joined(separator: ",")
        print("state ok: tiers=\(steps) columns=\(h.columnCount) entries=\(h.columnsOldestFirst.reduce(0) { $0 + $1.routes.count }) newest_unix_ms=\(h.newestUnixMs.map(String.init) ?? "none") routed_ops=\(h.totals.routed.operations)")
        exit(0)
    } catch {
        fail("\(error)")
    }
}

let node = DemoNode(options: options)
// --state-dir: the matrix history from the last run, before the first flush.
var stateFile: MatrixStateFile?
if let dir = options.stateDir {
    do {
        stateFile = try MatrixStateFile(directory: dir, logger: Logger(label: "keyviz-demo.state"))
    } catch {
        fail("--state-dir: \(error)")
    }
    _ = stateFile?.load(into: node.memSampler)
}
// The id a cluster view counts this node by: the flag, the id kept in --state-dir, or one per start.
let nodeID: String
do {
    var rng = SystemRandomNumberGenerator()
    nodeID = try options.nodeID ?? stateFile?.nodeID() ?? String(rng.next(), radix: 16)
} catch {
    fail("--state-dir: \(error)")
}
let server: MetricsServer
do {
    server = try makeServer(options: options, node: node, nodeID: nodeID)
} catch {
    fail("\(error)")
}
var threads = node.start()
if let stateFile { threads.append(node.startStateSaver(stateFile, every: options.stateSaveEvery)) }
let scheme = options.tlsCert == nil ? "http" : "https"
FileHandle.standardError.write(Data("keyviz-demo: \(options.routes) routes, \(options.groups) groups, \(options.rate) ops/s, seed \(options.seed), skew \(options.effectiveSkew), \(options.buckets) buckets\(options.autoSplit ? ", auto-split on" : "")\n".utf8))
FileHandle.standardError.write(Data("keyviz-demo: node id \(nodeID)\n".utf8))
FileHandle.standardError.write(Data("keyviz-demo: serving \(scheme)://\(server.boundAddress)/metrics\n".utf8))
FileHandle.standardError.write(Data("keyviz-demo: heatmap page at \(scheme)://\(server.boundAddress)/\n".utf8))

/// On SIGUSR1: live heap bytes, which (unlike resident memory) leave out the free memory glibc's
/// arenas keep, so a leak can be told from arena growth (docs/operations.md, Memory).
func reportHeap() {
    FileHandle.standardError.write(Data("keyviz-demo: heap in use \(keyviz_heap_in_use_bytes()) bytes\n".utf8))
}

let started = Date()
var lastOps = 0
var lastStatus = Date()
var stoppedBySignal = false
while true {
    var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
    let sig = sigtimedwait(&signals, nil, &timeout)
    if sig == SIGINT || sig == SIGTERM { stoppedBySignal = true; break }
    if sig == SIGUSR1 { reportHeap() }
    if options.duration > 0 && Date().timeIntervalSince(started) >= options.duration { break }
    if Date().timeIntervalSince(lastStatus) >= options.statusEvery {
        let ops = node.operationCount
        let rate = Double(ops - lastOps) / Date().timeIntervalSince(lastStatus)
        lastOps = ops
        lastStatus = Date()
        FileHandle.standardError.write(Data((node.statusLine(opsPerSecond: rate) + "\n").utf8))
    }
}
node.stop()
while threads.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.01) }
let observed = node.observedTotals
FileHandle.standardError.write(Data("keyviz-demo: observed reads=\(observed.reads) writes=\(observed.writes) read_bytes=\(observed.readBytes) write_bytes=\(observed.writeBytes) churn=\(node.churnCount)\n".utf8))
if options.linger > 0 && !stoppedBySignal {
    // Keep serving, workload stopped, so a scraper can check the final totals.
    let lingerEnd = Date().addingTimeInterval(options.linger)
    while Date() < lingerEnd {
        var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
        let sig = sigtimedwait(&signals, nil, &timeout)
        if sig == SIGINT || sig == SIGTERM { break }
        if sig == SIGUSR1 { reportHeap() }
    }
}
server.stop()
node.memSampler.flush()
if let stateFile {
    do {
        let n = try stateFile.save(node.memSampler)
        FileHandle.standardError.write(Data("keyviz-demo: matrix history saved to \(stateFile.path) (\(n) bytes)\n".utf8))
    } catch {
        FileHandle.standardError.write(Data("keyviz-demo: saving the matrix history failed: \(error)\n".utf8))
    }
}
let totals = node.memSampler.flushedTotals
FileHandle.standardError.write(Data("keyviz-demo: stopped after \(node.operationCount) operations (routed \(totals.routed.operations), unrouted \(totals.unrouted.operations))\n".utf8))
exit(0)
#endif
