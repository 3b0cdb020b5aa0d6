import Synchronization

/// A wall clock in Unix milliseconds that tests move by hand: pass ``function`` as a sampler's
/// `now`, then ``advance(_:)`` to cross steps, grace windows or hot-route windows at will.
public final class ManualClock: Sendable {
    private let ms: Atomic<Int64>

    public init(startingAt unixMs: Int64 = 1_700_000_000_000) {
        ms = Atomic(unixMs)
    }

    public var now: Int64 { ms.load(ordering: .relaxed) }

    public func advance(_ milliseconds: Int64) { ms.wrappingAdd(milliseconds, ordering: .relaxed) }

    /// The clock as the `now` closure samplers take.
    public var function: @Sendable () -> Int64 { { [self] in self.now } }
}
