import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KeyViz
import KeyVizHTTP
import KeyVizHTTPServiceLifecycle
import KeyVizPrometheus
import KeyVizServiceLifecycle
import KeyVizTestKit
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import KeyVizTestSupport

/// The server, the flusher and the hot-key drainer run in a ServiceGroup and stop cleanly on
/// graceful shutdown: the last observations are flushed, the port is closed.
@Suite struct ServicesTests {
    @Test func aServiceGroupRunsAndStopsTheServerFlusherAndDrainer() async throws {
        let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 60_000))   // flushes only at the stop
        let prometheus = PrometheusSampler(wrapping: matrix)
        // No halving: a loaded machine can stretch the test past the default one-minute window,
        // and a halving would then be read as lost samples (seen: 5 samples read as 2).
        let hot = HotKeySampler(wrapping: prometheus, configuration: .init(sampleEvery: 1, windowMilliseconds: 0))
        hot.apply(.evenlySplit(count: 4, groups: 1))
        let (bound, announce) = AsyncStream.makeStream(of: ListenAddress.self)
        let server = MetricsServerService(handler: KeyVizHTTPHandler(metrics: prometheus, matrix: matrix),
                                          configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: 0)),
                                          taskExecutor: TestThreadsExecutor.shared, onStart: { announce.yield($0) })
        let group = ServiceGroup(configuration: .init(
            services: [server, MatrixFlusherService(matrix: matrix),
                       HotKeyDrainerService(sampler: hot, interval: .milliseconds(10))],
            logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // The server starts in run(): its port is known once it listens.
            var addresses = bound.makeAsyncIterator()
            let port = try #require(await addresses.next()).port
            for _ in 0..<5 { hot.observe(route: 1, op: .write, key: Array("k".utf8), valueLength: 1) }
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200 && !data.isEmpty)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            // Stopped: the port no longer answers.
            await #expect(throws: (any Error).self) {
                _ = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
            }
        }
        #expect(matrix.flushedTotals.routed.writes == 5)     // the flusher's last flush at the stop
        // Every sample reached the sketch or was counted as dropped (a push never waits for the
        // drainer: when it holds the queue, the sample is dropped and counted).
        #expect((hot.hotKeys(route: 1).first?.sampledCount ?? 0) + hot.sampleCounts.dropped == 5)
        #expect(hot.sampleCounts.taken + hot.sampleCounts.dropped == 5)
    }

    /// The server is started by run(), so a port already taken fails the group with the
    /// server's error instead of a server built (and failing) before the group exists.
    @Test func aBusyPortFailsTheGroupWithTheServersError() async throws {
        let handler = KeyVizHTTPHandler(metrics: PrometheusSampler(wrapping: NoopSampler()), matrix: nil)
        let taken = try MetricsServer(handler: handler,
                                      configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: 0)))
        defer { taken.stop() }
        let server = MetricsServerService(handler: handler, configuration: .init(listen: taken.boundAddress))
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        let error = await #expect(throws: ServerError.self) { try await group.run() }
        guard case .cannotListen? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
    }

    /// A host's request handling in miniature: observes writes until graceful shutdown.
    private final class Traffic: Service, Sendable {
        let sampler: PrometheusSampler<HeatMatrixSampler>
        let observed = Atomic<Int>(0)

        init(_ sampler: PrometheusSampler<HeatMatrixSampler>) { self.sampler = sampler }

        func run() async throws {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                for _ in 0..<64 { sampler.observe(route: 1, op: .write, keyLength: 1, valueLength: 1) }
                observed.wrappingAdd(64, ordering: .relaxed)
                await Task.yield()
            }
        }
    }

    /// docs/embedding.md's order: a ServiceGroup stops its services last to first, so the
    /// services that make observations come last, the flusher before them and the server first.
    /// Then the traffic stops, the flusher's last flush sees all of it, and the server serves
    /// until then. (Listed the other way round, the traffic outlives the last flush.)
    @Test func servicesInTheDocumentedOrderFlushEveryObservationMadeBeforeTheStop() async throws {
        let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 60_000))   // flushes only at the stop
        let prometheus = PrometheusSampler(wrapping: matrix)
        prometheus.apply(.evenlySplit(count: 4, groups: 1))
        let server = MetricsServerService(handler: KeyVizHTTPHandler(metrics: prometheus, matrix: matrix),
                                          configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: 0)),
                                          taskExecutor: TestThreadsExecutor.shared)
        let traffic = Traffic(prometheus)
        let group = ServiceGroup(configuration: .init(
            services: [server, MatrixFlusherService(matrix: matrix), traffic],
            logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while traffic.observed.load(ordering: .relaxed) < 10_000 { await Task.yield() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(matrix.flushedTotals.routed.writes == UInt64(traffic.observed.load(ordering: .relaxed)))
    }
}
