public import KeyVizHTTP
import KeyVizHTTPHandler
public import ServiceLifecycle

/// The embedded server as a `Service`: it serves from the moment it is built (the port is bound
/// and checked in `MetricsServer.init`, so a busy port fails before the group starts); `run()`
/// waits for graceful shutdown or cancellation, then stops it, draining in-flight requests.
public struct MetricsServerService: Service {
    public let server: MetricsServer
    /// How long `run()` lets in-flight requests finish once shutdown begins.
    public let drainTimeout: Duration

    public init(server: MetricsServer, drainTimeout: Duration = .seconds(5)) {
        self.server = server
        self.drainTimeout = drainTimeout
    }

    public func run() async throws {
        // Returns on graceful shutdown; throws CancellationError when the task is cancelled.
        try? await gracefulShutdown()
        // The drain waits (up to drainTimeout) for in-flight requests: on a thread of its own,
        // not on the cooperative pool the group runs on.
        let server = server, drainTimeout = drainTimeout
        await OwnThread.run { server.stop(drainTimeout: drainTimeout) }
    }
}
