public import KeyVizHTTP
public import KeyVizHTTPHandler
public import Logging
public import ServiceLifecycle

/// The embedded server as a `Service`, started by `run()` as swift-service-lifecycle expects:
/// `run()` binds and starts a `MetricsServer` (a busy port or a bad configuration throws, so
/// the group fails with the `ServerError`), serves until graceful shutdown or cancellation, then
/// stops it, letting in-flight requests finish for up to `drainTimeout`; nothing in it blocks
/// the cooperative pool the group runs on (`MetricsServer.stop(drainTimeout:)` suspends).
public struct MetricsServerService: Service {
    public let handler: KeyVizHTTPHandler
    public let configuration: MetricsServerConfiguration
    /// How long `run()` lets in-flight requests finish once shutdown begins.
    public let drainTimeout: Duration
    private let logger: Logger
    private let taskExecutor: (any TaskExecutor)?
    private let onStart: @Sendable (ListenAddress) -> Void

    /// - Parameters:
    ///   - handler: what the server serves.
    ///   - configuration: the server's policy (checked when `run()` starts it).
    ///   - logger: the server's (see `MetricsServer`).
    ///   - drainTimeout: how long in-flight requests may finish once shutdown begins.
    ///   - taskExecutor: where the server answers requests (see `MetricsServer`); nil is Swift's
    ///     global concurrent executor.
    ///   - onStart: called from `run()` once the server listens, with the address it is bound to
    ///     (port 0 in `configuration` becomes the port picked), for a host that announces it.
    public init(handler: KeyVizHTTPHandler, configuration: MetricsServerConfiguration,
                logger: Logger = Logger(label: "keyviz.http"), drainTimeout: Duration = .seconds(5),
                taskExecutor: (any TaskExecutor)? = nil, onStart: @escaping @Sendable (_ bound: ListenAddress) -> Void = { _ in }) {
        self.handler = handler
        self.configuration = configuration
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.taskExecutor = taskExecutor
        self.onStart = onStart
    }

    public func run() async throws {
        let server = try MetricsServer(handler: handler, configuration: configuration, logger: logger, taskExecutor: taskExecutor)
        onStart(server.boundAddress)
        // Returns on graceful shutdown and throws CancellationError on cancellation: the server
        // is stopped either way, and run() then returns.
        try? await gracefulShutdown()
        await server.stop(drainTimeout: drainTimeout)
    }
}
