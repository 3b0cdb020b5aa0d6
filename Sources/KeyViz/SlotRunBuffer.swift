/// Scratch space for one run of (slot, delta) pairs, slots and deltas at the same index: a
/// drain's batch (``RouteCounterTable/drainBatch`` pairs), or the part of one that a consumer's
/// inbox does not hold. Raw memory, allocated by its user for one drain and given back by
/// ``deallocate()`` (once: a copy shares the memory), so filling it costs no copy-on-write or
/// bounds checks.
struct SlotRunBuffer {
    let slots: UnsafeMutablePointer<Int>
    let deltas: UnsafeMutablePointer<OpCounts>

    init(capacity: Int) {
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        deltas = .allocate(capacity: capacity)
        deltas.initialize(repeating: .zero, count: capacity)
    }

    /// The first `count` pairs, as a drain's body takes them.
    @inline(__always)
    func run(_ count: Int) -> (slots: UnsafeBufferPointer<Int>, deltas: UnsafeBufferPointer<OpCounts>) {
        (UnsafeBufferPointer(start: slots, count: count), UnsafeBufferPointer(start: deltas, count: count))
    }

    func deallocate() {
        slots.deallocate()
        deltas.deallocate()
    }
}
