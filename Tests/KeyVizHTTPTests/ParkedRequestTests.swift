import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizHTTPHandler
import KeyVizPrometheus
import Synchronization
import Testing
import KeyVizTestSupport

/// A cluster source that takes `delay` to answer (suspending, as a source must) and answers
/// with this node's own matrix.
private struct SlowClusterSource: ClusterMatrixSource {
    let delay: Duration
    func clusterMatrix(query: [String: String], local: MatrixAnswer) async -> [UInt8] {
        try? await Task.sleep(for: delay)
        return MatrixJSON.encode(local.matrix, generatedAt: local.generatedAt, stepMs: local.stepMs)
    }
}

/// A cluster source whose answers wait until `count` requests are waiting at once (or until
/// `release()`): requests answered one after another never get there.
private final class GatheringClusterSource: ClusterMatrixSource {
    private struct State {
        var arrived = 0
        var peak = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    let count: Int
    private let state = Mutex(State())
    init(count: Int) { self.count = count }

    func clusterMatrix(query: [String: String], local: MatrixAnswer) async -> [UInt8] {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let all = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.arrived += 1
                s.peak = max(s.peak, s.waiting.count + 1)
                s.waiting.append(c)
                guard s.arrived >= count else { return [] }
                defer { s.waiting = [] }
                return s.waiting
            }
            for w in all { w.resume() }
        }
        return MatrixJSON.encode(local.matrix, generatedAt: local.generatedAt, stepMs: local.stepMs)
    }

    /// Lets every waiting request go (the test's guard against a hang).
    func release() {
        let all = state.withLock { s in
            defer { s.waiting = [] }
            return s.waiting
        }
        for w in all { w.resume() }
    }

    /// The most requests that were waiting at once.
    var peak: Int { state.withLock { $0.peak } }
}

/// The server answers every request in a task while libmicrohttpd holds the connection
/// suspended (`ParkedRequests`): what comes over the wire is the handler's answer, and a stop
/// never leaves a parked connection behind.
@Suite struct ParkedRequestTests {
    private func server(delay: Duration = .zero) throws -> (MetricsServer, KeyVizHTTPHandler) {
        let m = HeatMatrixSampler()
        m.apply(.evenlySplit(count: 8, groups: 1))
        m.observe(route: 3, op: .read, keyLength: 4, valueLength: 10)
        m.flush()
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m, cluster: SlowClusterSource(delay: delay),
                                        nodeID: "n1")
        let server = try MetricsServer(handler: handler, configuration: ephemeral(), taskExecutor: TestThreadsExecutor.shared)
        return (server, handler)
    }

    /// Status, content type and body (without what moves between two calls: JSON stamps; of an
    /// exposition, all but its family lines) of every endpoint, good and bad requests alike.
    @Test func overTheWireEveryRequestGetsTheHandlersAnswer() async throws {
        let (server, handler) = try server()
        defer { server.stop() }
        let requests: [(method: String, path: String, query: [String: String])] = [
            ("GET", "/healthz", [:]), ("GET", "/", [:]), ("GET", "/nowhere", [:]), ("POST", "/metrics", [:]),
            ("GET", "/api/v1/keyviz/matrix", ["series": "nonsense"]), ("GET", "/api/v1/keyviz/matrix", ["rows": "4"]),
            ("GET", "/api/v1/keyviz/matrix", ["scope": "cluster"]), ("GET", "/api/v1/keyviz/matrix", ["scope": "prometheus"]),
            ("GET", "/api/v1/keyviz/hot-keys", [:]), ("GET", "/api/v1/keyviz/hot-keys", ["op": "sideways"]),
            ("GET", "/api/v1/keyviz/split-advice", [:]), ("GET", "/metrics", [:]),
        ]
        func comparable(_ status: Int, _ contentType: String?, _ body: [UInt8]) -> String {
            var text = String(decoding: body, as: UTF8.self)
                .replacing(/"generated_at":"[^"]*"/, with: "").replacing(/_unix_ms":[0-9]+/, with: "")
            if contentType?.hasPrefix("text/plain; version=") == true {
                text = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE") }.joined(separator: "\n")
            }
            return "\(status) \(contentType ?? "-") \(text)"
        }
        for r in requests {
            let target = r.path + (r.query.isEmpty ? "" : "?" + r.query.map { "\($0.key)=\($0.value)" }.joined(separator: "&"))
            let wire = try fetch(server.boundAddress.port, r.method, target)
            let direct = await handler.handle(KeyVizHTTPRequest(method: r.method, path: r.path, query: r.query))
            let directType = direct.headers.first { $0.name.lowercased() == "content-type" }?.value
            #expect(comparable(wire.status, wire.headers["content-type"], wire.body) == comparable(direct.status, directType, direct.body),
                    "\(r.method) \(target)")
        }
    }

    /// Requests that wait hold no thread of the server: 24 cluster requests, each on its own
    /// connection, are all waiting in the cluster source at the same time (it answers none
    /// until all 24 are there), then all answered 200. (Served one after another they could
    /// never all be waiting; the source's guard lets them go after 60 s and the test fails.)
    @Test func manyWaitingRequestsAreAllWaitingAtOnceAndAllAnswered() async throws {
        let m = HeatMatrixSampler()
        m.apply(.evenlySplit(count: 8, groups: 1))
        let source = GatheringClusterSource(count: 24)
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m, cluster: source)
        var config = ephemeral(.init(maxConcurrentMatrixRequests: 64, connectionLimitPerClient: 64))
        config.connectionLimit = 64
        let server = try MetricsServer(handler: handler, configuration: config, taskExecutor: TestThreadsExecutor.shared)
        defer { server.stop() }
        let port = server.boundAddress.port
        let statuses = Mutex<[Int]>([])
        for _ in 0..<24 {
            Thread {
                let c = try? TestConnection(port: port, timeoutSeconds: 120)
                c?.send(TestConnection.request("GET", "/api/v1/keyviz/matrix?scope=cluster", keepAlive: false))
                let status = (try? c?.readResponse())??.status ?? -1
                statuses.withLock { $0.append(status) }
            }.start()
        }
        let guardTask = Task {
            try await Task.sleep(for: .seconds(60))
            source.release()
        }
        let clock = ContinuousClock()
        let start = clock.now
        while statuses.withLock({ $0.count }) < 24, start.duration(to: clock.now) < .seconds(120) {
            try await Task.sleep(for: .milliseconds(10))
        }
        guardTask.cancel()
        #expect(source.peak == 24)
        #expect(statuses.withLock { $0 } == Array(repeating: 200, count: 24))
    }

    /// A stop with a drain lets a request being worked on finish with its answer; one whose
    /// drain is shorter than the work answers it 503 instead of dropping the connection.
    @Test(arguments: [(drainMs: 30_000, status: 200), (drainMs: 50, status: 503)])
    func aStopAnswersARequestStillBeingWorkedOn(drainMs: Int, status: Int) async throws {
        let m = HeatMatrixSampler()
        m.apply(.evenlySplit(count: 8, groups: 1))
        let source = GatheringClusterSource(count: 2)   // holds the one request until released
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: m), matrix: m, cluster: source)
        // A request deadline far beyond the test's waits, so only the stop can end the request.
        let server = try MetricsServer(handler: handler, configuration: ephemeral(.init(connectionTimeout: .seconds(120))),
                                       taskExecutor: TestThreadsExecutor.shared)
        let port = server.boundAddress.port
        let got = Mutex<TestResponse?>(nil), done = Atomic<Bool>(false)
        Thread {
            // A long read timeout: this test's own task may wait for a busy cooperative pool.
            let c = try? TestConnection(port: port, timeoutSeconds: 120)
            c?.send(TestConnection.request("GET", "/api/v1/keyviz/matrix?scope=cluster", keepAlive: false))
            let r = try? c?.readResponse()
            got.withLock { $0 = r }
            done.store(true, ordering: .releasing)
        }.start()
        let clock = ContinuousClock()
        let start = clock.now
        // On the server's executor, not the cooperative pool other tests keep busy, so the stop
        // comes while the request is held and not many seconds later.
        try await withTaskExecutorPreference(TestThreadsExecutor.shared) {
            while source.peak == 0, start.duration(to: clock.now) < .seconds(30) {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(source.peak == 1, "the request never reached the cluster source")
            async let stopped: Void = server.stop(drainTimeout: .milliseconds(Int64(drainMs)))
            if status == 200 {
                try await Task.sleep(for: .milliseconds(100))   // the stop is draining: let the request finish
                source.release()
            }
            await stopped
            source.release()
        }
        #expect(!server.isRunning)
        while !done.load(ordering: .acquiring), start.duration(to: clock.now) < .seconds(60) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let answer = got.withLock { $0 }
        #expect(answer?.status == status, "got \(answer.map { "\($0.status) \($0.text.prefix(80))" } ?? "no answer")")
        if status == 503 { #expect(answer?.text == "the server is stopping\n") }
    }
}
