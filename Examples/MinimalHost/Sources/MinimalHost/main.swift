// A minimal KeyViz host: the README's snippet, then a clean stop on SIGINT/SIGTERM.
// Run: swift run -c release MinimalHost   (prints the address it serves)
#if canImport(Glibc)
import Glibc
#endif

// Block SIGINT/SIGTERM before any thread starts, so only `sigwait` below receives them.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGINT)
sigaddset(&stopSignals, SIGTERM)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

// README:begin
import KeyViz
import KeyVizHTTP
import KeyVizPrometheus
import ShardKV

// 1. The sampler chain, innermost first: the heat matrix, wrapped by the Prometheus decorator.
let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000))
let prometheus = PrometheusSampler(wrapping: matrix, configuration: .init(bucketBudget: 256))

// 2. The host: routes, shard groups, and a coordinator handed the OUTERMOST sampler. The
//    coordinator registers it with the route engine; each layer passes the catalog inwards,
//    so every layer knows every route before the first observation.
let engine = RouteEngine(catalog: .evenlySplit(count: 64, groups: 4))
let groups = (1...4).map { ShardGroup(id: ShardGroupID($0)) }
let coordinator = ShardedCoordinator(engine: engine, groups: groups, sampler: prometheus)

// 3. The matrix turns counters into one time column per step: run its flusher (detached: a
//    plain Task in top-level code runs on the main actor, and waits while the main thread blocks).
let flusher = Task.detached { await matrix.runFlusher() }

// 4. Serve /metrics (Prometheus) and /api/v1/keyviz/matrix (port 0 picks a free port).
let server = try MetricsServer(handler: KeyVizHTTPHandler(metrics: prometheus, matrix: matrix),
                               configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: 0)))
print("serving http://\(server.boundAddress)/metrics", terminator: "\n")

// 5. Traffic: each read and write through the coordinator is observed exactly once.
try coordinator.dispatch([.put(key: Array("key/00000042".utf8), value: Array("hello".utf8))])
let value = try coordinator.get(key: Array("key/00000042".utf8))   // one read, 5 value bytes
// README:end

fflush(nil)   // the address line reaches a pipe at once
// Serve until asked to stop, then stop in order: no more traffic, last flush, server down.
var received: Int32 = 0
sigwait(&stopSignals, &received)
flusher.cancel()
await flusher.value          // runFlusher flushes once more on cancellation
await server.stop(drainTimeout: .seconds(5))   // in-flight requests finish first
print("stopped on signal \(received); value was \(value.map { String(decoding: $0, as: UTF8.self) } ?? "nil")")
