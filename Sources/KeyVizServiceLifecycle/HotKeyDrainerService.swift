public import KeyViz
public import ServiceLifecycle

/// Runs a `HotKeySampler`'s background step as a `Service`: its samples reach the sketches
/// every `everyMilliseconds` until graceful shutdown.
public struct HotKeyDrainerService<Inner: Sampler>: Service {
    public let sampler: HotKeySampler<Inner>
    public let everyMilliseconds: Int64

    public init(sampler: HotKeySampler<Inner>, everyMilliseconds: Int64 = 1_000) {
        self.sampler = sampler
        self.everyMilliseconds = everyMilliseconds
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await sampler.runDrainer(everyMilliseconds: everyMilliseconds) }
        sampler.drain()
    }
}
