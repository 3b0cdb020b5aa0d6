// A Vapor app with KeyViz inside: a tiny key-value API of its own (PUT/GET /kv/KEY through a
// ShardKV coordinator) and KeyViz on its routes (/metrics, the matrix, hot-keys and
// split-advice APIs, /healthz, the heat map page at /keyviz). SIGTERM or SIGINT stops Vapor,
// then the matrix is flushed once more, so nothing observed is left out.
//   swift run -c release VaporHost [PORT]     (0 or absent: a free port, logged)
import KeyViz
import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizVapor
import ShardKV
import Vapor

let port = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "0"
var environment = Environment(name: "production", arguments: ["vapor", "serve", "--hostname", "127.0.0.1", "--port", port])
try LoggingSystem.bootstrap(from: &environment)
let app = try await Application.make(environment)

let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000))
let prometheus = PrometheusSampler(wrapping: matrix, configuration: .init(bucketBudget: 64))
let coordinator = ShardedCoordinator(engine: RouteEngine(catalog: .evenlySplit(count: 16, groups: 1)),
                                     groups: [ShardGroup(id: 1)], sampler: prometheus)

app.on(.PUT, "kv", ":key", body: .collect(maxSize: "1mb")) { request async throws -> HTTPStatus in
    let key = Array((request.parameters.get("key") ?? "").utf8)
    let value = request.body.data.map { Array($0.readableBytesView) } ?? []
    try coordinator.dispatch([.put(key: key, value: value)])
    return .noContent
}
app.get("kv", ":key") { request async throws -> Response in
    let key = Array((request.parameters.get("key") ?? "").utf8)
    guard let value = try coordinator.get(key: key) else { return Response(status: .notFound) }
    return Response(status: .ok, body: .init(buffer: ByteBuffer(bytes: value)))
}
app.addKeyViz(KeyVizHTTPHandler(metrics: prometheus, matrix: matrix), pagePath: "/keyviz")
// What KeyViz serves (scripts/check-vapor-host.sh requests each path listed here).
for endpoint in KeyVizEndpoint.allCases {
    app.logger.notice("keyviz endpoint path=\(endpoint == .page ? "/keyviz" : endpoint.path)")
}

// Detached: top-level code runs on the main actor (see docs/embedding.md), and the flusher must
// not depend on what the main actor is doing.
let flusher = Task.detached { await matrix.runFlusher() }
try await app.execute()
// Vapor has stopped serving (no more observations): stop the flusher, then flush the rest.
flusher.cancel()
await flusher.value
matrix.flush()
app.logger.notice("stopped flushed_writes=\(matrix.flushedTotals.routed.writes)")
try await app.asyncShutdown()
