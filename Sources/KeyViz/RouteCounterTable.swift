#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif
public import Synchronization

/// Lock-free per-route counters: the storage behind every KeyViz sampler's hot path.
///
/// Layout. A route id maps to a counter *slot* through a two-level directory (ids below
/// ``RouteID/limit``); slot 0 is reserved for observations whose route is unknown ("unrouted"),
/// and an unmapped id resolves to it without a branch. Each slot holds, per *stripe*, one
/// `UInt64` word per op: the operation count in its top 24 bits and the byte sum in its low 40,
/// so one observation is one locked add (`1 << 40 | bytes`). A thread adds to its own stripe
/// so two threads on one hot route do not share a cache line. Slot and directory chunks are
/// allocated once and never moved or freed before the table, so the hot path needs no lock,
/// no allocation and no reference counting: two acquiring loads, one relaxed load and one add.
///
/// *Carries.* Packing halves both what a touched route costs per stripe (16 bytes instead of
/// 32) and the locked instructions per observation and per drained route, but a field can
/// overflow between two drains (2^24 operations, or 2^40 bytes, on one route from one
/// thread): a byte sum that overflows adds one to the count field, a count that overflows
/// falls off the word. The add returns the old word, so the thread whose add overflows sees
/// it and adds the correction (and, for one observation of 2^40 bytes or more, its high bits)
/// to the slot's 64-bit *carry* counters, shared by the stripes. Carries are rare, so the line
/// they share is rarely written; the carry region of a chunk is mapped zero pages that become
/// resident only where a carry lands. A drain adds the carries to the stripes' fields, so
/// every sum is exact modulo 2^64, as `OpCounts` is.
///
/// Draining (``drainDirty(_:)``) swaps each word to zero in place, so an add that races with a
/// drain lands either in this drain or the next: nothing is lost or counted twice (a carry is
/// written before its add's dirty-bit check, so the same holds for it).
///
/// *Dirty bits in two levels.* A slot's dirty bit says it was touched since the last drain; a
/// summary bit per 64 dirty words (4 096 slots) says one of them is set, so a drain reads the
/// summary and only the words it marks: its cost follows the touched slots, not the table's
/// size. The thread that sets a dirty bit sets the summary bit after it, and a drain clears a
/// summary bit before the words it marks, so a bit set during a drain is either taken by it or
/// left marked for the next.
///
/// *Dirty bits.* Each slot also has one bit in a bitmap, set by the hot path when it finds it
/// clear (one more load per observation, a locked `or` only on the first add to a slot since
/// the last drain). ``drainDirty(_:)`` visits only slots whose bit is set, so a drain costs
/// what was touched, not what exists. Ordering: the adds and the bit's load are sequentially
/// consistent (on x86 the same instructions as relaxed ones), so an add whose thread saw the
/// bit set was made before the drainer cleared the bit, and the drainer's later exchange of the
/// counter sees it; an add that saw the bit clear sets it again. Either way the add is drained
/// exactly once, now or at the next drain.
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
    static let idChunkBits = CounterStorage.idChunkBits
    static let idChunkSize = 1 << idChunkBits
    static let idTopCount = Int(RouteID.limit.rawValue >> UInt64(idChunkBits))
    // Slots: 2^12 slots per chunk, 2^12 chunks at most.
    static let slotChunkBits = CounterStorage.slotChunkBits
    static let slotChunkSize = 1 << slotChunkBits
    package static let maxSlots = slotChunkSize << 12
    /// The dirty bitmap (a bit per slot) and its summary (a bit per 64-slot word) in one mapping.
    static let dirtyWords = CounterStorage.summaryOffset + (maxSlots >> 12)
    static let countersPerSlot = CounterStorage.countersPerSlot
    static let wordsPerSlot = CounterStorage.wordsPerSlot

    package let stripeCount: Int
    private let stripeMask: Int
    private let directory: UnsafeMutablePointer<Atomic<Int>>   // addresses of id chunks, 0 = none
    private let slotChunks: UnsafeMutablePointer<Atomic<Int>>  // addresses of slot chunks, 0 = none
    private let dirty: UnsafeMutablePointer<Atomic<UInt64>>     // one bit per slot (untouched pages cost nothing), then the summary
    private var summary: UnsafeMutablePointer<Atomic<UInt64>> { dirty + CounterStorage.summaryOffset }  // one bit per dirty word
    private let carries: UnsafeMutablePointer<Atomic<Int>>      // carries ever made (0: drains skip the carry region)
    static let slotChunkCount = maxSlots >> slotChunkBits
    private let allocated = Atomic<Int>(1)                     // slot 0 (unrouted) always exists
    private let preloadedStripes = Atomic<Int>(0)              // stripes a test preloaded, + 1 (see `stripesInUse`)

    /// - Parameter stripes: rounded up to a power of two, 1…64; 0 or less picks the default
    ///   (online CPUs rounded up).
    package init(stripes: Int) {
        let wanted = stripes <= 0 ? ThreadStripe.defaultCount : stripes
        var n = 1
        while n < max(1, min(64, wanted)) { n <<= 1 }
        stripeCount = n
        stripeMask = n - 1
        directory = Self.zeroedAtomics(Self.idTopCount)
        // One entry past the chunk addresses counts the carries (the carry path finds it there).
        slotChunks = Self.zeroedAtomics(Self.slotChunkCount + 1)
        assert(CounterStorage.summaryOffset == Self.maxSlots >> 6, "the summary starts after a bit per slot")
        dirty = Self.zeroedAtomics(Self.dirtyWords)
        carries = slotChunks + Self.slotChunkCount
        storage = CounterStorage(directory: directory, slotChunks: slotChunks, dirty: dirty,
                                 stripeMask: n - 1, stripeKey: ThreadStripe.key)
        ensureSlotChunk(0)
    }

    deinit {
        for i in 0..<Self.idTopCount {
            let a = directory[i].load(ordering: .relaxed)
            if a != 0 { free(UnsafeMutableRawPointer(bitPattern: a)) }
        }
        for i in 0..<Self.slotChunkCount {
            let a = slotChunks[i].load(ordering: .relaxed)
            if a != 0 { Self.unmap(UnsafeMutableRawPointer(bitPattern: a), slotChunkBytes) }
        }
        Self.unmap(UnsafeMutableRawPointer(directory), Self.idTopCount * MemoryLayout<Atomic<Int>>.stride)
        Self.unmap(UnsafeMutableRawPointer(slotChunks), (Self.slotChunkCount + 1) * MemoryLayout<Atomic<Int>>.stride)
        Self.unmap(UnsafeMutableRawPointer(dirty), Self.dirtyWords * MemoryLayout<Atomic<UInt64>>.stride)
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
            // From the heap, not a mapping of its own: ids may be sparse, and a process may
            // hold only so many mappings (vm.max_map_count, 65 530 by default).
            guard let raw = calloc(Self.idChunkSize, MemoryLayout<Atomic<UInt32>>.stride) else {
                fatalError("KeyViz: out of memory allocating a route id chunk")
            }
            let fresh = raw.bindMemory(to: Atomic<UInt32>.self, capacity: Self.idChunkSize)
            chunk = Int(bitPattern: fresh)
            directory[top].store(chunk, ordering: .releasing)
        }
        let entries = UnsafeMutablePointer<Atomic<UInt32>>(bitPattern: chunk).unsafelyUnwrapped
        entries[Int(route.rawValue) & (Self.idChunkSize - 1)].store(UInt32(slot), ordering: .releasing)
    }

    /// Takes the slot's counts, summed over stripes and carries, and leaves zeros behind.
    /// `carried`: the carry count, read by the caller after it cleared the slot's dirty bit (an
    /// add that saw the bit set made its carry before that), once per batch of slots.
    /// `stripes`: how many of the slot's stripes can hold counts (see ``stripesInUse``).
    @inline(__always)
    private func drain(slot: Int, stripes: Int, carried: Bool) -> OpCounts {
        var c = OpCounts()
        let first = storage.slotWords(slot: slot, stripe: 0)
        for stripe in 0..<stripes {
            let p = first + CounterStorage.stripeOffset(stripe)
            // Plain loads first: an idle stripe's line stays clean (an exchange dirties it), and
            // a locked exchange costs far more than a load. Sequentially consistent loads (plain
            // moves on x86) so that an add ordered before a dirty-bit check is seen here. One
            // test for both words: most stripes of a touched slot are idle.
            let reads = p[0].load(ordering: .sequentiallyConsistent), writes = p[1].load(ordering: .sequentiallyConsistent)
            guard reads | writes != 0 else { continue }
            if reads != 0 {
                let w = p[0].exchange(0, ordering: .sequentiallyConsistent)
                c.reads &+= w &>> CounterStorage.bytesBits
                c.readBytes &+= w & CounterStorage.bytesMask
            }
            if writes != 0 {
                let w = p[1].exchange(0, ordering: .sequentiallyConsistent)
                c.writes &+= w &>> CounterStorage.bytesBits
                c.writeBytes &+= w & CounterStorage.bytesMask
            }
        }
        if carried {
            let q = storage.carryCounters(slot: slot)
            if q[0].load(ordering: .sequentiallyConsistent) != 0 { c.reads &+= q[0].exchange(0, ordering: .sequentiallyConsistent) }
            if q[1].load(ordering: .sequentiallyConsistent) != 0 { c.writes &+= q[1].exchange(0, ordering: .sequentiallyConsistent) }
            if q[2].load(ordering: .sequentiallyConsistent) != 0 { c.readBytes &+= q[2].exchange(0, ordering: .sequentiallyConsistent) }
            if q[3].load(ordering: .sequentiallyConsistent) != 0 { c.writeBytes &+= q[3].exchange(0, ordering: .sequentiallyConsistent) }
        }
        return c
    }

    /// The stripes a drain reads: the ones threads have been given (a thread adds only to its
    /// own, and stripe numbers are handed out in order) or a test preloaded, at most all of
    /// them. A host with fewer observing threads than stripes drains fewer lines per slot. Read
    /// after the dirty bits are cleared: a thread's stripe is handed out before its first add,
    /// and that add's dirty-bit check after it (all sequentially consistent), so a drain that
    /// takes the bit the add set, or saw set, sees the stripe counted.
    private var stripesInUse: Int {
        min(stripeCount, max(ThreadStripe.assigned, preloadedStripes.load(ordering: .sequentiallyConsistent)))
    }

    /// Carries made so far (for tests: a wrap was seen and carried).
    package var carryCount: Int { carries.pointee.load(ordering: .relaxed) }

    /// Sets the word of `op` in one stripe of `slot` as if `operations` (below 2^24) operations
    /// of `bytes` (below 2^40) bytes in all had been added since the last drain: lets a test
    /// reach an overflow without 2^24 adds. The slot is marked dirty. Only while no other
    /// thread uses the table.
    package func preload(slot: Int, stripe: Int, op: Op, operations: UInt64, bytes: UInt64) {
        precondition(operations < 1 << CounterStorage.countBits && bytes <= CounterStorage.bytesMask)
        _ = preloadedStripes.max(stripe & stripeMask + 1, ordering: .sequentiallyConsistent)
        storage.slotWords(slot: slot, stripe: stripe & stripeMask)[Int(op.rawValue)]
            .store(operations << CounterStorage.bytesBits | bytes, ordering: .sequentiallyConsistent)
        storage.markDirty(slot: slot)
    }

    /// Slots whose dirty bit is set now (an estimate: bits set meanwhile are not counted), so a
    /// drain's caller can size its output once. One population count per 64 slots.
    package func dirtySlotCount() -> Int {
        var n = 0
        for sw in 0..<((allocatedSlots + 4095) >> 12) {
            var marked = summary[sw].load(ordering: .relaxed)
            while marked != 0 {
                n += dirty[sw << 6 | marked.trailingZeroBitCount].load(ordering: .relaxed).nonzeroBitCount
                marked &= marked &- 1
            }
        }
        return n
    }

    /// Drains every slot whose dirty bit is set, clearing the bit first, and hands each
    /// non-zero delta to `body` (slot 0, unrouted, included), in slot order. Cost: one load per
    /// 4 096 allocated slots (the summary) plus the touched slots; idle slots are never visited.
    /// Returns the number of slots visited. (A slot at a time, for tests; `RouteSlots` takes
    /// batches.)
    @discardableResult @inline(__always)
    package func drainDirty(_ body: (_ slot: Int, _ delta: OpCounts) -> Void) -> Int {
        drainDirty { slots, deltas in
            for i in slots.indices { body(slots[i], deltas[i]) }
        }
    }

    /// The same, the deltas handed over in batches of up to ``drainBatch`` (slots ascending,
    /// each with its delta at the same index), so a caller runs one tight loop per batch and
    /// per destination instead of a call per slot.
    ///
    /// Each batch is taken in three passes: plain loads of its counter lines (when its slots
    /// are far apart), then the exchanges, then the call to `body`. A locked exchange orders
    /// every later load after it, so a drain that read, exchanged and handed on one slot at a
    /// time waited for each slot's cache misses in turn, its own and `body`'s (in a large
    /// table, where the touched slots' lines and pages are far apart, that wait was most of a
    /// drain); loads with no locked instruction between them wait together.
    @discardableResult @inline(__always)
    package func drainDirty(batches body: (_ slots: UnsafeBufferPointer<Int>, _ deltas: UnsafeBufferPointer<OpCounts>) -> Void) -> Int {
        let buffer = SlotRunBuffer(capacity: Self.drainBatch)
        defer { buffer.deallocate() }
        let pending = buffer.slots, deltas = buffer.deltas
        let summaryWords = (allocatedSlots + 4095) >> 12
        var sw = 0              // the next summary word to read
        var marked: UInt64 = 0  // its dirty words not yet taken
        var w = 0               // the dirty word being taken
        var bits: UInt64 = 0    // its slots not yet pending
        var visited = 0
        var done = false
        // One loop, one call of `body` (a second call site kept the closure from being inlined,
        // and its captures were then checked for exclusivity at run time).
        while !done {
            var n = 0
            while n < Self.drainBatch {
                if bits == 0 {
                    while marked == 0 && sw < summaryWords {
                        // The summary bit before the words it marks (see the type's note on dirty bits).
                        if summary[sw].load(ordering: .relaxed) != 0 {
                            marked = summary[sw].exchange(0, ordering: .sequentiallyConsistent)
                            w = sw << 6
                        }
                        sw &+= 1
                    }
                    guard marked != 0 else { done = true; break }
                    w = w & ~63 | marked.trailingZeroBitCount
                    marked &= marked &- 1
                    bits = dirty[w].exchange(0, ordering: .sequentiallyConsistent)
                    continue
                }
                // The word's slots, as many as fit (one tight loop: the base hoisted, no reloads).
                let base = w &<< 6
                var left = bits
                var m = n
                repeat {
                    pending[m] = base | left.trailingZeroBitCount
                    left &= left &- 1
                    m &+= 1
                } while left != 0 && m < Self.drainBatch
                bits = left
                n = m
            }
            visited &+= n
            // Slots close together share their lines, which the hardware prefetches anyway.
            if n > 1 && pending[n &- 1] &- pending[0] > n &* Self.slotsPerLine {
                let stripes = stripesInUse
                for i in 0..<n { touch(slot: pending[i], stripes: stripes) }
            }
            let kept = n > 0 ? take(pending, n, into: deltas) : 0
            if kept > 0 {
                let run = buffer.run(kept)
                body(run.slots, run.deltas)
            }
        }
        return visited
    }

    /// Drains the `n` pending slots into `deltas` (same index) and keeps the non-zero ones,
    /// compacted in place; returns how many. A function of its own, out of line (once per batch):
    /// inlined into the drain's loop, with the caller's body, it left too few registers and the
    /// per-slot loop reloaded its pointers from the stack.
    @inline(never)
    private func take(_ pending: UnsafeMutablePointer<Int>, _ n: Int, into deltas: UnsafeMutablePointer<OpCounts>) -> Int {
        var zeros = 0
        // Both read after every pending slot's bit was cleared (see `drain(slot:stripes:carried:)`
        // and ``stripesInUse``); a loop for each carry case, so the common one checks nothing
        // per slot.
        let stripes = stripesInUse
        if carries.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            for i in 0..<n {
                let d = drain(slot: pending[i], stripes: stripes, carried: true)
                deltas[i] = d
                zeros &+= d.isZero ? 1 : 0
            }
        } else {
            for i in 0..<n {
                let d = drain(slot: pending[i], stripes: stripes, carried: false)
                deltas[i] = d
                zeros &+= d.isZero ? 1 : 0
            }
        }
        guard zeros > 0 else { return n }
        // Only non-zero deltas are handed on (a slot's bit can be set by an add whose count an
        // earlier drain already took: rare).
        var kept = 0
        for i in 0..<n where !deltas[i].isZero {
            pending[kept] = pending[i]
            deltas[kept] = deltas[i]
            kept &+= 1
        }
        return kept
    }

    /// Slots whose words share a 64-byte line in one stripe (two 8-byte words each).
    static let slotsPerLine = 64 / (wordsPerSlot * MemoryLayout<UInt64>.stride)

    /// Slots a drain takes at a time and hands on as one run (64: 2 KiB of deltas; the calls
    /// per run, through the collect to its consumer's fold, cost a few instructions per slot
    /// at 32).
    static let drainBatch = 64

    /// Reads the slot's line in each of the first `stripes` stripes (those in use), so that the
    /// exchanges after it find them cached.
    @inline(__always)
    private func touch(slot: Int, stripes: Int) {
        let first = storage.slotWords(slot: slot, stripe: 0)
        for stripe in 0..<stripes {
            _ = first[CounterStorage.stripeOffset(stripe)].load(ordering: .relaxed)
        }
    }

    private static let carryBytes = slotChunkSize * countersPerSlot * MemoryLayout<Atomic<UInt64>>.stride
    private static let stripeBytes = slotChunkSize * wordsPerSlot * MemoryLayout<Atomic<UInt64>>.stride
    private var slotChunkBytes: Int { Self.carryBytes + Self.stripeBytes * stripeCount }

    /// A chunk is one `UInt64` carry counter per counter and slot (zero pages until a carry
    /// lands), then its stripes' words, stripe after stripe: all `UInt64` atomics.
    private func ensureSlotChunk(_ index: Int) {
        if slotChunks[index].load(ordering: .acquiring) != 0 { return }
        let raw = Self.mapZeroed(slotChunkBytes)
        raw.bindMemory(to: Atomic<UInt64>.self, capacity: slotChunkBytes / MemoryLayout<Atomic<UInt64>>.stride)
        slotChunks[index].store(Int(bitPattern: raw), ordering: .releasing)
    }

    /// `count` zeroed atomics in pages of their own (an all-zero bit pattern is the atomic's 0).
    private static func zeroedAtomics<T: AtomicRepresentable & FixedWidthInteger>(_ count: Int) -> UnsafeMutablePointer<Atomic<T>> {
        mapZeroed(count * MemoryLayout<Atomic<T>>.stride).bindMemory(to: Atomic<T>.self, capacity: count)
    }

    /// Anonymous private pages from the kernel: zero, and resident only once written, whatever
    /// the allocator's thresholds (`calloc` clears reused heap memory, which makes it resident):
    /// idle stripes, unused carry regions and sparse directories cost address space, not memory.
    /// Only for the few large blocks (at most 4 096 slot chunks and three tables), so the
    /// process's count of mappings stays small.
    private static func mapZeroed(_ bytes: Int) -> UnsafeMutableRawPointer {
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { fatalError("KeyViz: out of memory mapping \(bytes) bytes of counters") }
        return p
    }

    private static func unmap(_ p: UnsafeMutableRawPointer?, _ bytes: Int) {
        if let p { munmap(p, bytes) }
    }
}

/// The hot path of a `RouteCounterTable`: trivially copyable, so holding it costs no
/// reference counting. Valid while its table lives (the sampler that copies it owns the table).
/// Inlinable, with its constants spelled as literals, so a host's call through a sampler chain
/// in another module compiles to straight-line code (no calls, no lazy-global checks).
///
/// `@unchecked Sendable`: the pointers lead to memory holding only atomics.
@usableFromInline
package struct CounterStorage: @unchecked Sendable {
    @usableFromInline let directory: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let slotChunks: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let dirty: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let stripeMask: Int
    @usableFromInline let stripeKey: pthread_key_t

    init(directory: UnsafeMutablePointer<Atomic<Int>>, slotChunks: UnsafeMutablePointer<Atomic<Int>>,
         dirty: UnsafeMutablePointer<Atomic<UInt64>>,
         stripeMask: Int, stripeKey: pthread_key_t) {
        self.directory = directory
        self.slotChunks = slotChunks
        self.dirty = dirty
        self.stripeMask = stripeMask
        self.stripeKey = stripeKey
    }

    // The table's geometry (see `RouteCounterTable`), as literals for inlined code.
    @inlinable static var idChunkBits: Int { 14 }
    @inlinable static var slotChunkBits: Int { 12 }
    @inlinable static var countersPerSlot: Int { 4 }
    @inlinable static var wordsPerSlot: Int { 2 }
    /// A word: operations in the top 24 bits, bytes in the low 40.
    @inlinable static var bytesBits: UInt64 { 40 }
    @inlinable static var bytesMask: UInt64 { (1 << 40) - 1 }
    @inlinable static var countBits: UInt64 { 64 - bytesBits }
    @inlinable static var idLimit: UInt64 { 1 << 32 }
    /// Where the dirty summary starts in the dirty mapping: after a bit per slot (2^24 slots).
    @inlinable static var summaryOffset: Int { 1 << 18 }

    /// Adds one operation of `op` with `bytes` to the route's counters, or to the unrouted
    /// slot when the route is not mapped, and marks the slot dirty.
    @inlinable @inline(__always)
    package func record(route: RouteID, op: Op, bytes: UInt64) {
        record(route: route, op: op, bytes: bytes, stripe: ThreadStripe.current(key: stripeKey))
    }

    /// The calling thread, its stripe read once, for a decorator that counts in this table and
    /// hands the call on (``Sampler/observe(route:op:key:valueLength:thread:)``).
    @inlinable
    package var callingThread: CallingThread {
        @inline(__always) get { CallingThread(stripe: ThreadStripe.current(key: stripeKey)) }
    }

    /// The same with the calling thread's stripe already read (unmasked; see ``CallingThread``).
    @inlinable @inline(__always)
    package func record(route: RouteID, op: Op, bytes: UInt64, stripe: Int) {
        let slot = slot(of: route)
        let index = Int(op.rawValue)
        let words = slotWords(slot: slot, stripe: stripe & stripeMask)
        let low = bytes & Self.bytesMask
        let old = words[index].wrappingAdd(1 &<< Self.bytesBits | low, ordering: .sequentiallyConsistent).oldValue
        // A field overflowed: the count was full (it fell off the word), the bytes carried into
        // the count (which then may fall off too), or the observation has bits above the field.
        if old >= ~Self.bytesMask || (old & Self.bytesMask) &+ low > Self.bytesMask || bytes != low {
            Self.carry(slotChunks: slotChunks, slot: slot, index: index, old: old, bytes: bytes)
        }
        let bit = UInt64(1) &<< UInt64(slot & 63)
        if dirty[slot &>> 6].load(ordering: .sequentiallyConsistent) & bit == 0 {
            dirty[slot &>> 6].bitwiseOr(bit, ordering: .sequentiallyConsistent)
            Self.markSummary(dirty: dirty, word: slot &>> 6)
        }
    }

    /// Sets the summary bit of dirty word `word`, after that word's bit was set (the first touch
    /// of a slot since the last drain: off the common path).
    @inlinable @inline(__always)
    static func markSummary(dirty: UnsafeMutablePointer<Atomic<UInt64>>, word: Int) {
        let summary = dirty + summaryOffset + (word &>> 6)
        let bit = UInt64(1) &<< UInt64(word & 63)
        if summary.pointee.load(ordering: .sequentiallyConsistent) & bit == 0 {
            summary.pointee.bitwiseOr(bit, ordering: .sequentiallyConsistent)
        }
    }

    /// Marks `slot` dirty, word and summary (outside the hot path: tests, preloads).
    func markDirty(slot: Int) {
        dirty[slot >> 6].bitwiseOr(UInt64(1) << UInt64(slot & 63), ordering: .sequentiallyConsistent)
        Self.markSummary(dirty: dirty, word: slot >> 6)
    }

    /// The slot a route id maps to, 0 when unmapped.
    @inlinable @inline(__always)
    package func slot(of route: RouteID) -> Int {
        guard route.rawValue < Self.idLimit else { return 0 }
        let chunk = directory[Int(truncatingIfNeeded: route.rawValue &>> UInt64(Self.idChunkBits))].load(ordering: .acquiring)
        guard chunk != 0 else { return 0 }
        let entries = UnsafeMutablePointer<Atomic<UInt32>>(bitPattern: chunk).unsafelyUnwrapped
        return Int(entries[Int(truncatingIfNeeded: route.rawValue) & ((1 &<< Self.idChunkBits) &- 1)].load(ordering: .acquiring))
    }

    /// Corrects the slot's carry counters after an add of `1 << 40 | (bytes & bytesMask)` to a
    /// word that held `old` (rare: out of line, and static with its inputs in registers, so the
    /// hot path never spills the storage to memory). Decoded, that add moved the count field by
    /// `1 + c - 2^24 w` and the byte field by `low - 2^40 c`, where `c` says the bytes carried
    /// into the count and `w` that the count fell off the word; the carries make up the rest.
    @usableFromInline @inline(never)
    static func carry(slotChunks: UnsafeMutablePointer<Atomic<Int>>, slot: Int, index: Int, old: UInt64, bytes: UInt64) {
        let low = bytes & bytesMask
        let c = ((old & bytesMask) + low) >> bytesBits
        let w = ((old >> bytesBits) + 1 + c) >> countBits
        let opsCorrection = (w << countBits) &- c
        let bytesCorrection = (c << bytesBits) &+ (bytes &- low)
        let q = carryCounters(slotChunks: slotChunks, slot: slot)
        if opsCorrection != 0 { q[index].wrappingAdd(opsCorrection, ordering: .sequentiallyConsistent) }
        if bytesCorrection != 0 { q[2 + index].wrappingAdd(bytesCorrection, ordering: .sequentiallyConsistent) }
        slotChunks[RouteCounterTable.slotChunkCount].wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    /// The slot's two words (reads, writes) in `stripe`.
    @inlinable @inline(__always)
    func slotWords(slot: Int, stripe: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        let chunk = slotChunks[slot &>> Self.slotChunkBits].load(ordering: .acquiring)
        // Past the chunk's carry region.
        let base = UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: chunk).unsafelyUnwrapped + (Self.countersPerSlot &<< Self.slotChunkBits)
        return base + Self.stripeOffset(stripe) + (slot & ((1 &<< Self.slotChunkBits) &- 1)) &* Self.wordsPerSlot
    }

    /// How far a slot's words in `stripe` are from its words in stripe 0 (in a chunk, each
    /// stripe's words follow the previous stripe's). Below 64 stripes: no overflow.
    @inlinable @inline(__always)
    static func stripeOffset(_ stripe: Int) -> Int { (stripe &<< slotChunkBits) &* wordsPerSlot }

    /// The slot's four 64-bit carry counters, at the start of its chunk.
    func carryCounters(slot: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        Self.carryCounters(slotChunks: slotChunks, slot: slot)
    }

    static func carryCounters(slotChunks: UnsafeMutablePointer<Atomic<Int>>, slot: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        let chunk = slotChunks[slot >> slotChunkBits].load(ordering: .acquiring)
        let base = UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: chunk).unsafelyUnwrapped
        return base + (slot & ((1 << slotChunkBits) - 1)) * countersPerSlot
    }
}
