#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Lock-free per-route counters: the storage behind every KeyViz sampler's hot path.
///
/// Layout. A route id maps to a counter *slot* through a two-level directory (ids below
/// ``RouteID/limit``); slot 0 is reserved for observations whose route is unknown ("unrouted"),
/// and an unmapped id resolves to it without a branch. Each slot holds four `UInt64` counters
/// (reads, writes, read bytes, write bytes) per *stripe*; a thread adds to its own stripe so
/// two threads on one hot route do not share a cache line. Slot and directory chunks are
/// allocated once and never moved or freed before the table, so the hot path needs no lock,
/// no allocation and no reference counting: two acquiring loads, one relaxed load and two
/// relaxed adds.
///
/// Draining (``drain(slot:)``) swaps each counter to zero in place, so an add that races with
/// a drain lands either in this drain or the next: nothing is lost or counted twice.
///
/// Mapping changes (``map(route:to:)``, ``allocateSlot()``) are made by one caller at a time
/// (the owning sampler holds a lock); the hot path only reads.
///
/// `@unchecked Sendable`: the only stored state besides atomics is two `let` pointers to
/// memory that holds nothing but atomics, allocated in `init` and freed in `deinit`.
package final class RouteCounterTable: @unchecked Sendable {
    /// The hot-path view of this table: plain pointers and numbers, no reference. Samplers copy
    /// it into a stored property so `observe` touches no reference count (a retain/release pair
    /// per call would make every thread write the table object's refcount: shared-line
    /// contention, the very thing the stripes avoid).
    package let storage: CounterStorage

    // Directory: route id -> slot index. 2^18 top entries x 2^14 ids per chunk = 2^32 ids.
    fileprivate static let idChunkBits = 14
    fileprivate static let idChunkSize = 1 << idChunkBits
    fileprivate static let idTopCount = Int(RouteID.limit.rawValue >> UInt64(idChunkBits))
    // Slots: 2^12 slots per chunk, 2^12 chunks at most.
    fileprivate static let slotChunkBits = 12
    fileprivate static let slotChunkSize = 1 << slotChunkBits
    package static let maxSlots = slotChunkSize << 12
    fileprivate static let countersPerSlot = 4

    package let stripeCount: Int
    private let stripeMask: Int
    private let directory: UnsafeMutablePointer<Atomic<Int>>   // addresses of id chunks, 0 = none
    private let slotChunks: UnsafeMutablePointer<Atomic<Int>>  // addresses of slot chunks, 0 = none
    private let allocated = Atomic<Int>(1)                     // slot 0 (unrouted) always exists

    /// - Parameter stripes: rounded up to a power of two, 1…64; 0 or less picks the default
    ///   (online CPUs rounded up).
    package init(stripes: Int) {
        let wanted = stripes <= 0 ? ThreadStripe.defaultCount : stripes
        var n = 1
        while n < max(1, min(64, wanted)) { n <<= 1 }
        stripeCount = n
        stripeMask = n - 1
        directory = Self.zeroedAtomics(Self.idTopCount)
        slotChunks = Self.zeroedAtomics(Self.maxSlots >> Self.slotChunkBits)
        storage = CounterStorage(directory: directory, slotChunks: slotChunks, stripeMask: n - 1, stripeKey: ThreadStripe.key)
        ensureSlotChunk(0)
    }

    deinit {
        for i in 0..<Self.idTopCount {
            let a = directory[i].load(ordering: .relaxed)
            if a != 0 { free(UnsafeMutableRawPointer(bitPattern: a)) }
        }
        for i in 0..<(Self.maxSlots >> Self.slotChunkBits) {
            let a = slotChunks[i].load(ordering: .relaxed)
            if a != 0 { free(UnsafeMutableRawPointer(bitPattern: a)) }
        }
        free(directory)
        free(slotChunks)
    }

    // MARK: hot path

    /// The slot a route id maps to, 0 when unmapped.
    @inline(__always)
    package func slot(of route: RouteID) -> Int { storage.slot(of: route) }

    // MARK: control (one caller at a time)

    /// Hands out a fresh slot whose counters read zero. Returns nil when the table is full.
    package func allocateSlot() -> Int? {
        let slot = allocated.load(ordering: .relaxed)
        guard slot < Self.maxSlots else { return nil }
        ensureSlotChunk(slot >> Self.slotChunkBits)
        allocated.store(slot + 1, ordering: .releasing)
        return slot
    }

    /// Slots handed out so far, including the unrouted slot 0.
    package var allocatedSlots: Int { allocated.load(ordering: .acquiring) }

    /// Points `route` at `slot` (0 unmaps it: later observations count as unrouted).
    package func map(route: RouteID, to slot: Int) {
        precondition(route < RouteID.limit && slot >= 0 && slot < allocatedSlots)
        let top = Int(route.rawValue >> UInt64(Self.idChunkBits))
        var chunk = directory[top].load(ordering: .acquiring)
        if chunk == 0 {
            if slot == 0 { return }
            let fresh = Self.zeroedAtomics(Self.idChunkSize) as UnsafeMutablePointer<Atomic<UInt32>>
            chunk = Int(bitPattern: fresh)
            directory[top].store(chunk, ordering: .releasing)
        }
        let entries = UnsafeMutablePointer<Atomic<UInt32>>(bitPattern: chunk).unsafelyUnwrapped
        entries[Int(route.rawValue) & (Self.idChunkSize - 1)].store(UInt32(slot), ordering: .releasing)
    }

    /// Takes the slot's counts, summed over stripes, and leaves zeros behind.
    package func drain(slot: Int) -> OpCounts {
        var c = OpCounts()
        for stripe in 0..<stripeCount {
            let p = storage.slotCounters(slot: slot, stripe: stripe)
            // A plain load first: most slots are idle, and an exchange dirties the cache line.
            if p[0].load(ordering: .relaxed) | p[1].load(ordering: .relaxed)
                | p[2].load(ordering: .relaxed) | p[3].load(ordering: .relaxed) == 0 { continue }
            // Exchange only counters seen non-zero: a locked exchange costs far more than a load,
            // and a counter that read zero and was bumped since is simply drained next time.
            if p[0].load(ordering: .relaxed) != 0 { c.reads &+= p[0].exchange(0, ordering: .relaxed) }
            if p[1].load(ordering: .relaxed) != 0 { c.writes &+= p[1].exchange(0, ordering: .relaxed) }
            if p[2].load(ordering: .relaxed) != 0 { c.readBytes &+= p[2].exchange(0, ordering: .relaxed) }
            if p[3].load(ordering: .relaxed) != 0 { c.writeBytes &+= p[3].exchange(0, ordering: .relaxed) }
        }
        return c
    }

    private func ensureSlotChunk(_ index: Int) {
        if slotChunks[index].load(ordering: .acquiring) != 0 { return }
        let count = Self.slotChunkSize * Self.countersPerSlot * stripeCount
        let p = Self.zeroedAtomics(count) as UnsafeMutablePointer<Atomic<UInt64>>
        slotChunks[index].store(Int(bitPattern: p), ordering: .releasing)
    }

    /// Allocates `count` zeroed atomics with `calloc`, whose large blocks come straight from the
    /// kernel as untouched zero pages: a sparse directory costs address space, not memory.
    /// (An all-zero bit pattern is the atomic's value 0.) Freed with `free`.
    private static func zeroedAtomics<T: AtomicRepresentable & FixedWidthInteger>(_ count: Int) -> UnsafeMutablePointer<Atomic<T>> {
        guard let raw = calloc(count, MemoryLayout<Atomic<T>>.stride) else {
            fatalError("KeyViz: out of memory allocating \(count) counters")
        }
        return raw.bindMemory(to: Atomic<T>.self, capacity: count)
    }
}

/// The hot path of a `RouteCounterTable`: trivially copyable, so holding it costs no
/// reference counting. Valid while its table lives (the sampler that copies it owns the table).
///
/// `@unchecked Sendable`: the pointers lead to memory holding only atomics.
package struct CounterStorage: @unchecked Sendable {
    let directory: UnsafeMutablePointer<Atomic<Int>>
    let slotChunks: UnsafeMutablePointer<Atomic<Int>>
    let stripeMask: Int
    let stripeKey: pthread_key_t

    /// Adds one operation of `op` with `bytes` to the route's counters, or to the unrouted
    /// slot when the route is not mapped.
    @inline(__always)
    package func record(route: RouteID, op: Op, bytes: UInt64) {
        let counters = slotCounters(slot: slot(of: route), stripe: ThreadStripe.current(key: stripeKey) & stripeMask)
        counters[op.index].wrappingAdd(1, ordering: .relaxed)
        counters[2 &+ op.index].wrappingAdd(bytes, ordering: .relaxed)
    }

    /// The slot a route id maps to, 0 when unmapped.
    @inline(__always)
    package func slot(of route: RouteID) -> Int {
        guard route < RouteID.limit else { return 0 }
        let chunk = directory[Int(truncatingIfNeeded: route.rawValue >> UInt64(RouteCounterTable.idChunkBits))].load(ordering: .acquiring)
        guard chunk != 0 else { return 0 }
        let entries = UnsafeMutablePointer<Atomic<UInt32>>(bitPattern: chunk).unsafelyUnwrapped
        return Int(entries[Int(truncatingIfNeeded: route.rawValue) & (RouteCounterTable.idChunkSize - 1)].load(ordering: .acquiring))
    }

    @inline(__always)
    func slotCounters(slot: Int, stripe: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        let chunk = slotChunks[slot >> RouteCounterTable.slotChunkBits].load(ordering: .acquiring)
        let base = UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: chunk).unsafelyUnwrapped
        return base + (((stripe << RouteCounterTable.slotChunkBits) | (slot & (RouteCounterTable.slotChunkSize - 1))) &* RouteCounterTable.countersPerSlot)
    }
}
