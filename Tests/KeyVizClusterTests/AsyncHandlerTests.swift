import Foundation
import KeyViz
import KeyVizCluster
import KeyVizHTTPHandler
import KeyVizPrometheus
import KeyVizTestKit
import Synchronization
import Testing
import KeyVizTestSupport

/// A peer that takes `seconds` to answer (suspending, as a fetcher must).
private final class SlowPeer: PeerFetcher {
    let seconds: Double
    init(seconds: Double) { self.seconds = seconds }
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        return .failure(PeerFetchError("timed out"))
    }
}

/// A fetcher that ignores its timeout and answers only after an hour.
private final class DeafPeer: PeerFetcher {
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        try? await Task.sleep(for: .seconds(3600))
        return .failure(PeerFetchError("late"))
    }
}

/// `await handle(_:)`, the entry point of async hosts, never blocks the thread it runs on.
@Suite struct AsyncHandlerTests {
    private func handler(peerSeconds: Double) -> KeyVizHTTPHandler {
        let matrix = HeatMatrixSampler()
        matrix.apply(.evenlySplit(count: 4, groups: 1))
        let view = try! ClusterView(selfName: "self:1", peers: [PeerAddress(host: "10.0.0.2", port: 1)],
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
        let executor = TestThreadsExecutor(threads: 1)
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
        let ticker = times.tickerDone.withLock { $0 } ?? .infinity, answer = times.firstAnswer.withLock { $0 } ?? 0
        #expect(answer >= 2.9, "the peer takes 3 s")
        #expect(ticker < answer, "the ticker ended at \(ticker) s, the first cluster answer came at \(answer) s")
    }

    /// A fetcher that ignores its own timeout cannot hold a cluster answer: the view answers
    /// once its deadline (the peer timeout plus one second) has passed, listing the peer as
    /// timed out, and the answer still holds this node's counts.
    @Test func aPeerThatIgnoresItsTimeoutIsListedAsTimedOutAfterTheDeadline() async throws {
        let matrix = HeatMatrixSampler()
        matrix.apply(.evenlySplit(count: 4, groups: 1))
        matrix.observe(route: 1, op: .write, keyLength: 1, valueLength: 1)
        matrix.flush()
        let view = try ClusterView(selfName: "self:1", peers: [PeerAddress(host: "10.0.0.2", port: 1)], fetcher: DeafPeer(),
                               timeout: .milliseconds(100))
        let h = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: matrix), matrix: matrix, cluster: view, nodeID: "self")
        let clock = ContinuousClock()
        let start = clock.now
        let r = await h.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "cluster"]))
        let took = start.duration(to: clock.now)
        #expect(r.status == 200)
        #expect(took >= .milliseconds(1100), "answered after \(took), before the deadline")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        let nodes = try #require(obj["nodes"] as? [[String: Any]])
        #expect(nodes.count == 2)
        #expect(nodes.last?["ok"] as? Bool == false && nodes.last?["error"] as? String == "timed out")
        let total = (obj["rows"] as? [[String: Any]] ?? []).flatMap { $0["values"] as? [Int] ?? [] }.reduce(0, +)
        #expect(total == 1)
    }

    /// The peer fetches run on the executor the view was given (an unstructured task does not
    /// inherit the requesting task's preference), not on the pool of the task that asked.
    @Test func peerFetchesRunOnTheExecutorTheViewWasGiven() async throws {
        let matrix = HeatMatrixSampler()
        matrix.apply(.evenlySplit(count: 4, groups: 1))
        let executor = TestThreadsExecutor(threads: 1)
        let peers = [PeerAddress(host: "10.0.0.2", port: 1), PeerAddress(host: "10.0.0.3", port: 1)]
        let view = try ClusterView(selfName: "self:1", peers: peers, fetcher: SlowPeer(seconds: 0.05),
                                   timeout: .milliseconds(1_000), taskExecutor: executor)
        let h = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: matrix), matrix: matrix, cluster: view, nodeID: "self")
        #expect(executor.enqueuedCount == 0)
        let r = await h.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: ["scope": "cluster"]))
        #expect(r.status == 200)
        // Each fetch starts there and resumes there after its sleep; the deadline task starts there.
        #expect(executor.enqueuedCount >= 2 * peers.count + 1, "\(executor.enqueuedCount) jobs reached the view's executor")
    }
}
