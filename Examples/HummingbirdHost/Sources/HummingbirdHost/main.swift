// A Hummingbird app with KeyViz inside: a tiny key-value API of its own (PUT/GET /kv/KEY through
// a ShardKV coordinator), its own swift-metrics counter, and KeyViz on the same /metrics, with
// the matrix API and the heat map page (/keyviz). Logs through its Logger; SIGTERM or SIGINT
// stops the ServiceGroup in order (the app first, then the flusher's last flush).
//   swift run -c release HummingbirdHost [PORT]     (0 or absent: a free port, printed)
import Hummingbird
import KeyViz
import KeyVizHTTPHandler
import KeyVizHummingbird
import KeyVizMetrics
import KeyVizPrometheus
import KeyVizServiceLifecycle
import Logging
import Metrics
import ServiceLifecycle
import ShardKV

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let logger = Logger(label: "hummingbird-host")

// The host's own metrics go to KeyViz's /metrics through the swift-metrics backend.
let metrics = KeyVizMetricsFactory()
MetricsSystem.bootstrap(metrics)

let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000))
let prometheus = PrometheusSampler(wrapping: matrix, configuration: .init(bucketBudget: 64))
prometheus.register(metrics)
let coordinator = ShardedCoordinator(engine: RouteEngine(catalog: .evenlySplit(count: 16, groups: 1)),
                                     groups: [ShardGroup(id: 1)], sampler: prometheus)

let router = Router()
router.put("kv/:key") { request, context -> HTTPResponse.Status in
    let key = Array(try context.parameters.require("key").utf8)
    var request = request
    let value = Array(buffer: try await request.collectBody(upTo: 1 << 20))
    Counter(label: "kv_requests", dimensions: [("op", "put")]).increment()
    try coordinator.dispatch([.put(key: key, value: value)])
    return .noContent
}
router.get("kv/:key") { _, context -> Response in
    let key = Array(try context.parameters.require("key").utf8)
    Counter(label: "kv_requests", dimensions: [("op", "get")]).increment()
    guard let value = try coordinator.get(key: key) else { return Response(status: .notFound) }
    return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value)))
}
router.addKeyViz(KeyVizHTTPHandler(metrics: prometheus, matrix: matrix), pagePath: "/keyviz")
// What KeyViz serves (scripts/check-hummingbird-host.sh requests each path listed here).
for endpoint in KeyVizEndpoint.allCases {
    logger.info("keyviz endpoint", metadata: ["path": "\(endpoint == .page ? "/keyviz" : endpoint.path)"])
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 0 : 0
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "hummingbird-host"),
    onServerRunning: { [logger] channel in
        logger.info("serving", metadata: ["address": "http://127.0.0.1:\(channel.localAddress?.port ?? 0)"])
    },
    logger: logger)
// A ServiceGroup stops its services last to first: the app (whose requests make observations)
// stops first, then the flusher flushes once more, so nothing observed is left out.
let group = ServiceGroup(configuration: .init(
    services: [.init(service: MatrixFlusherService(matrix: matrix)), .init(service: app)],
    gracefulShutdownSignals: [.sigterm, .sigint],
    logger: logger))
try await group.run()
logger.info("stopped", metadata: ["flushed_writes": "\(matrix.flushedTotals.routed.writes)"])
