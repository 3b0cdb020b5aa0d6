public import KeyViz
public import ServiceLifecycle

/// Runs a `HotKeySampler`'s background step as a `Service`: its samples reach the sketches
/// every `interval` until graceful shutdown.
public struct HotKeyDrainerService<Inner: Sampler>: Service {
    public let sampler: HotKeySampler<Inner>
    public let interval: Duration

    public init(sampler: HotKeySampler<Inner>, interval: Duration = .seconds(1)) {
        self.sampler = sampler
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await sampler.runDrainer(every: interval) }
        sampler.drain()
    }
}
