public import KeyVizHTTP
public import KeyVizHTTPHandler
public import Logging
public import ServiceLifecycle

/// The embedded server as a `Service`, started by `run()` as swift-service-lifecycle expects:
/// `run()` binds and starts a `MetricsServer` (a busy port or a bad configuration throws, so
/// the group fails with the `ServerError`), serves until graceful shutdown or cancellation, then
/// stops it, letting in-flight requests finish for up to `drainTimeout` on a thread of its own,
/// never on the cooperative pool the group runs on.
public struct MetricsServerService: Service {
    public let handler: KeyVizHTTPHandler
    public let configuration: MetricsServerConfiguration
    /// How long `run()` lets in-flight requests finish once shutdown begins.
    public let drainTimeout: Duration
    private let logger: Logger
    private let onStart: @Sendable (ListenAddress) -> Void

    /// - Parameters:
    ///   - handler: what the server serves.
    ///   - configuration: the server's policy (checked when `run()` starts it).
    ///   - logger: the server's (see `MetricsServer`).
    ///   - drainTimeout: how long in-flight requests may finish once shutdown begins.
    ///   - onStart: called from `run()` once the server listens, with the address it is bound to
    ///     (port 0 in `configuration` becomes the port picked), for a host that announces it.
    public init(handler: KeyVizHTTPHandler, configuration: MetricsServerConfiguration,
                logger: Logger = Logger(label: "keyviz.http"), drainTimeout: Duration = .seconds(5),
                onStart: @escaping @Sendable (_ bound: ListenAddress) -> Void = { _ in }) {
        self.handler = handler
        self.configuration = configuration
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.onStart = onStart
    }

    public func run() async throws {
        let server = try MetricsServer(handler: handler, configuration: configuration, logger: logger)
        onStart(server.boundAddress)
        // Returns on graceful shutdown and throws CancellationError on cancellation: the server
        // is stopped either way, and run() then returns.
        try? await gracefulShutdown()
        let drainTimeout = drainTimeout
        await OwnThread.run { server.stop(drainTimeout: drainTimeout) }
    }
}
