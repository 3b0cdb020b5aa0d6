#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif
public import Synchronization

/// Per-thread "1 in R" countdowns: the only thing a hot-key sampler adds to the hot path.
///
/// Each thread counts down on its own stripe (one cache line each), so the choice is
/// deterministic per thread (every R-th key-carrying observation of a thread is sampled, when
/// threads do not share a stripe) and costs a load and a store on a line no other thread
/// writes. Threads beyond the stripe count share stripes; their plain load/store may lose or
/// repeat a tick, so the rate is then about 1 in R (sampling, not counting: nothing else
/// depends on it). A plain value holding a pointer: copying it into a sampler's stored property keeps
/// the hot path free of reference counting. The memory is freed by ``deallocate()``.
@usableFromInline
struct SampleCountdown: @unchecked Sendable {
    // `@unchecked`: a pointer to atomics only, plus constants.
    @usableFromInline let base: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let mask: Int
    @usableFromInline let every: Int
    @usableFromInline let key: pthread_key_t
    @inlinable static var stride: Int { 8 }

    init(every: Int) {
        let stripes = ThreadStripe.defaultCount
        mask = stripes - 1
        self.every = every
        key = ThreadStripe.key
        base = .allocate(capacity: stripes * Self.stride)
        for i in 0..<(stripes * Self.stride) { (base + i).initialize(to: Atomic(every)) }
    }

    /// Counts one observation on this thread's stripe; returns the stripe when this one is
    /// the thread's R-th (to be sampled), else nil.
    @inlinable @inline(__always)
    func tick() -> Int? {
        tick(stripe: ThreadStripe.current(key: key))
    }

    /// The same with the thread's stripe already read (unmasked).
    @inlinable @inline(__always)
    func tick(stripe unmasked: Int) -> Int? {
        let stripe = unmasked & mask
        let countdown = base + stripe &* Self.stride
        let left = countdown.pointee.load(ordering: .relaxed) &- 1
        if left > 0 {
            countdown.pointee.store(left, ordering: .relaxed)
            return nil
        }
        countdown.pointee.store(every, ordering: .relaxed)
        return stripe
    }

    var stripeCount: Int { mask + 1 }

    func deallocate() {
        base.deinitialize(count: (mask + 1) * Self.stride)
        base.deallocate()
    }
}
