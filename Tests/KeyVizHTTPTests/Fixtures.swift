import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizPrometheus
import KeyVizTestKit
import Logging
import Synchronization
import Testing
import KeyVizTestSupport

/// A metrics source with a fixed body, or a slow one: for tests of the transport itself.
/// With `freshCopies`, each render returns a body of its own (one memcpy), so the only
/// reference to what the server sends is the server's.
final class FixedExposition: MetricsExposition {
    let body: [UInt8]
    let delaySeconds: Double
    let freshCopies: Bool
    init(body: String, delaySeconds: Double = 0, freshCopies: Bool = false) {
        self.body = Array(body.utf8)
        self.delaySeconds = delaySeconds
        self.freshCopies = freshCopies
    }
    func render(format: ExpositionFormat) -> [UInt8] {
        if delaySeconds > 0 { Thread.sleep(forTimeInterval: delaySeconds) }
        guard freshCopies else { return body }
        // A memcpy (a `map` of 16 MB takes seconds in a debug build on a loaded machine).
        return [UInt8](unsafeUninitializedCapacity: body.count) { copy, count in
            body.withUnsafeBytes { UnsafeMutableRawBufferPointer(copy).copyMemory(from: $0) }
            count = body.count
        }
    }
    func register(_ collector: any MetricsCollector) {}
}

/// A real sampler chain behind a real server on 127.0.0.1 with an ephemeral port.
struct LiveServer {
    let memSampler: HeatMatrixSampler
    let prometheus: PrometheusSampler<HeatMatrixSampler>
    let server: MetricsServer
    var port: UInt16 { server.boundAddress.port }

    /// Policy (auth, limits) goes in `configuration` only: the handler is built without any.
    init(routes: Int = 100, buckets: Int = 32, configuration: MetricsServerConfiguration = .init(listen: ListenAddress(host: "127.0.0.1", port: 0)),
         logger: Logger = Logger(label: "keyviz.http.test")) throws {
        memSampler = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000))
        prometheus = PrometheusSampler(wrapping: memSampler, configuration: .init(bucketBudget: buckets))
        prometheus.apply(RouteCatalog.evenlySplit(count: routes, groups: 2))
        let handler = KeyVizHTTPHandler(metrics: prometheus, matrix: memSampler)
        server = try MetricsServer(handler: handler, configuration: configuration, logger: logger, taskExecutor: TestThreadsExecutor.shared)
    }
}

func ephemeral(_ c: MetricsServerConfiguration = .init()) -> MetricsServerConfiguration {
    var c = c
    c.listen = ListenAddress(host: "127.0.0.1", port: 0)
    return c
}

/// `user` / `s3cret pass`, SHA-256-crypt (made with `openssl passwd -5 -salt keyvizsalt`).
let authFile = "# test users\nuser:$5$keyvizsalt$6E.2ySApWdHTjs7cjuGrORq2K.yi.ZF7Z2D8upfX9gD\n"

func basic(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

let prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/// A self-signed certificate for 127.0.0.1 made by openssl in a temporary directory, removed
/// after `body`: the TLS tests' server certificate and the curl CA file in one.
func withSelfSignedCertificate<T>(_ body: (_ certPath: String, _ keyPath: String) async throws -> T) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyviz-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
    let made = try await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
    #expect(made.status == 0, "\(String(decoding: made.output, as: UTF8.self))")
    return try await body(cert, key)
}

