import Foundation
import KeyViz
import KeyVizCluster
import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing

/// A peer that takes `seconds` to answer and blocks its caller meanwhile, as a socket read does.
private final class SlowPeer: PeerFetcher {
    let seconds: Double
    init(seconds: Double) { self.seconds = seconds }
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) -> Result<PeerResponse, PeerFetchError> {
        Thread.sleep(forTimeInterval: seconds)
        return .failure(PeerFetchError("timed out"))
    }
}

/// The blocking entry point (from a synchronous function, where it is the one chosen).
private func blockingHandle(_ h: KeyVizHTTPHandler, _ request: KeyVizHTTPRequest) -> KeyVizHTTPResponse {
    h.handle(request)
}

/// `await handle(_:)`, the entry point of async hosts, never blocks the thread it runs on.
@Suite struct AsyncHandlerTests {
    private func handler(peerSeconds: Double) -> KeyVizHTTPHandler {
        let matrix = HeatMatrixSampler()
        matrix.apply(.evenlySplit(count: 4, groups: 1))
        let view = ClusterView(selfName: "self:1", peers: [PeerAddress(host: "10.0.0.2", port: 1)],
                               fetcher: SlowPeer(seconds: peerSeconds), timeout: .milliseconds(10_000))
        return KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: matrix), matrix: matrix, cluster: view, nodeID: "self")
    }

    /// Eight cluster requests wait three seconds for a slow peer, all of them and a ticker (a task
    /// that only sleeps and wakes ten times) on ONE thread of their own (a task executor no
    /// other test uses). Were a request to block its thread while it waits, the ticker could
    /// not run until every request had ended (24 s); it finishes before the first answer.
    @Test func clusterRequestsWaitingForASlowPeerLeaveTheirThreadFree() async {
        let h = handler(peerSeconds: 3)
        final class Times: Sendable {
            let start = Date()
            let firstAnswer = Mutex<Double?>(nil), tickerDone = Mutex<Double?>(nil)
        }
        let times = Times()
        let executor = OneThreadExecutor()
        await withTaskExecutorPreference(executor) {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let r = await h.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "cluster"]))
                        #expect(r.status == 200)
                        let t = Date().timeIntervalSince(times.start)
                        times.firstAnswer.withLock { $0 = min($0 ?? t, t) }
                    }
                }
                group.addTask {
                    for _ in 0..<10 { try? await Task.sleep(for: .milliseconds(20)) }
                    times.tickerDone.withLock { $0 = Date().timeIntervalSince(times.start) }
                }
            }
        }
        executor.stop()
        let ticker = times.tickerDone.withLock { $0 } ?? .infinity, answer = times.firstAnswer.withLock { $0 } ?? 0
        #expect(answer >= 2.9, "the peer takes 3 s")
        #expect(ticker < answer, "the ticker ended at \(ticker) s, the first cluster answer came at \(answer) s")
    }

    /// The async and the blocking entry points share one logic: the same statuses and bodies for
    /// every endpoint and for bad requests (bodies without their generated_at stamps).
    @Test func bothEntryPointsAnswerEveryRequestAlike() async {
        let h = handler(peerSeconds: 0)
        let requests = [
            KeyVizHTTPRequest(method: "GET", path: "/healthz"),
            KeyVizHTTPRequest(method: "GET", path: "/"),
            KeyVizHTTPRequest(method: "GET", path: "/nowhere"),
            KeyVizHTTPRequest(method: "POST", path: "/metrics"),
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["series": "nonsense"]),
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["rows": "4"]),
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "cluster"]),
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "prometheus"]),
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/hot-keys", query: ["scope": "cluster"]),
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/hot-keys", query: ["op": "sideways"]),
            KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/split-advice"),
            KeyVizHTTPRequest(method: "GET", path: "/metrics", headers: ["accept": "application/openmetrics-text; version=1.0.0"]),
        ]
        // Bodies without what moves between two calls: JSON stamps; of an exposition, its families.
        func comparable(_ r: KeyVizHTTPResponse) -> String {
            var body = String(decoding: r.body, as: UTF8.self)
                .replacing(/"generated_at":"[^"]*"/, with: "").replacing(/_unix_ms":[0-9]+/, with: "")
            if r.headers.contains(where: { $0.name == "Vary" }) {
                body = body.split(separator: "\n").filter { $0.hasPrefix("# TYPE") }.joined(separator: "\n")
            }
            return "\(r.status) \(r.headers.map { "\($0.name)=\($0.value)" }) \(body)"
        }
        for request in requests {
            let blocking = blockingHandle(h, request)
            let async = await h.handle(request)
            #expect(comparable(blocking) == comparable(async), "\(request.method) \(request.path) \(request.query)")
        }
    }
}

/// Runs every job it is given on one thread of its own, in order.
private final class OneThreadExecutor: TaskExecutor, @unchecked Sendable {
    // `@unchecked`: `jobs` and `running` are guarded by `ready`.
    private let ready = NSCondition()
    private var jobs: [UnownedJob] = []
    private var running = true

    init() {
        let thread = Thread { [self] in
            while true {
                ready.lock()
                while jobs.isEmpty && running { ready.wait() }
                if jobs.isEmpty { ready.unlock(); return }
                let job = jobs.removeFirst()
                ready.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        ready.lock()
        jobs.append(job)
        ready.signal()
        ready.unlock()
    }

    func stop() {
        ready.lock()
        running = false
        ready.signal()
        ready.unlock()
    }
}
