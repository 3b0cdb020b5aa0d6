import Synchronization

/// Per-route counters that follow a changing route catalog without losing a count, read by
/// one or more consumers.
///
/// One table serves a whole sampler chain: the heat matrix and the Prometheus decorator wrapping
/// it both read the counters the matrix's `observe` adds to, so an observation costs one slot
/// lookup and one locked add, not one per sampler. Each reader registers as a *consumer*
/// (``addConsumer()``) and takes its deltas with ``collect(consumer:nowMs:_:)``. A collect
/// drains the table's dirty slots once, adds each delta to every other consumer's *inbox* (a
/// sparse per-consumer sum: one entry per touched slot) and hands the caller its own share,
/// then what its inbox holds (a slot both drained and held joins the held entry: each slot
/// is handed over once per collect).
/// Every count leaves the table exactly once and reaches every consumer exactly once, whoever
/// drains it and however often each consumer collects.
///
/// Route bookkeeping lives under a lock the hot path never takes:
///
/// - a route new to the catalog gets a slot at once (before the catalog is published);
/// - a route that leaves the catalog stays mapped for a grace window, so observations by
///   threads that resolved it just before the change still land on it; then it is unmapped
///   (later observations count as unrouted) and its slot is recycled once no inbox holds a
///   delta for it (so a delta is always reported with the route that made it);
/// - collects visit only the slots touched since the last drain (the table's dirty bits).
package final class RouteSlots: Sendable {
    package let counters: RouteCounterTable

    private struct Retired {
        var slot: Int
        var sinceMs: Int64
    }

    /// One consumer's deltas drained by *other* consumers and not yet delivered: a dense slot →
    /// entry map and the entries (a consumer's own drains deliver straight to it). Raw buffers
    /// behind one pointer: a drain adds an entry per touched slot, and arrays cost two
    /// copy-on-write checks and bounds checks per add (a class, dynamic exclusivity checks and
    /// reference counting). Copies share the buffers; ``free()`` gives them back, once (the
    /// owner's deinit). Used only under the owner's lock.
    private struct Inbox: @unchecked Sendable {
        private struct Buffers {
            var map: UnsafeMutablePointer<UInt32>?      // per slot: 0 = none, else entry index + 1
            var mapCount = 0
            var slotOf: UnsafeMutablePointer<UInt32>?
            var deltaOf: UnsafeMutablePointer<OpCounts>?
            var count = 0
            var capacity = 0
            var unrouted = OpCounts()
            var live = true
        }
        private let b: UnsafeMutablePointer<Buffers>

        init() {
            b = .allocate(capacity: 1)
            b.initialize(to: Buffers())
        }

        var count: Int { b.pointee.count }
        var unrouted: OpCounts {
            get { b.pointee.unrouted }
            nonmutating set { b.pointee.unrouted = newValue }
        }
        /// False once its consumer is gone: nothing is added to it any more.
        var live: Bool { b.pointee.live }

        @inline(__always)
        func add(slot: Int, _ delta: OpCounts, slotCount: Int) {
            if slot >= b.pointee.mapCount { growMap(to: max(slot + 1, slotCount, b.pointee.mapCount * 2)) }   // sized once for the table
            if addIfHeld(slot: slot, delta) { return }
            let map = b.pointee.map.unsafelyUnwrapped
            if b.pointee.count == b.pointee.capacity { growEntries() }
            let n = b.pointee.count
            b.pointee.slotOf.unsafelyUnwrapped[n] = UInt32(slot)
            (b.pointee.deltaOf.unsafelyUnwrapped + n).initialize(to: delta)
            b.pointee.count = n &+ 1
            map[slot] = UInt32(truncatingIfNeeded: n &+ 1)     // entries ≤ slots < 2^24
        }

        /// Adds a drained batch (slots ascending; the unrouted slot 0 goes to ``unrouted``) in
        /// one loop with the map and entries in registers; a slot it does not hold yet takes
        /// the path of ``add(slot:_:slotCount:)``. The map is sized once, for the last slot.
        @inline(__always)
        func add(slots: UnsafeBufferPointer<Int>, deltas: UnsafeBufferPointer<OpCounts>, slotCount: Int) {
            guard let last = slots.last else { return }
            assert(zip(slots, slots.dropFirst()).allSatisfy { $0 < $1 }, "a drained batch's slots ascend")
            if last >= b.pointee.mapCount { growMap(to: max(last + 1, slotCount, b.pointee.mapCount * 2)) }
            let map = b.pointee.map.unsafelyUnwrapped
            if b.pointee.deltaOf == nil { growEntries() }   // so the loop needs no check per slot
            var deltaOf = b.pointee.deltaOf.unsafelyUnwrapped
            for i in slots.indices {
                let slot = slots[i]
                let e = Int(map[slot])
                if e != 0 {
                    deltaOf[e &- 1] += deltas[i]
                } else if slot == 0 {
                    b.pointee.unrouted += deltas[i]
                } else {
                    add(slot: slot, deltas[i], slotCount: slotCount)
                    deltaOf = b.pointee.deltaOf.unsafelyUnwrapped     // may have grown
                }
            }
        }

        @inline(never)
        private func growMap(to n: Int) {
            let fresh = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
            fresh.initialize(repeating: 0, count: n)
            if let map = b.pointee.map {
                fresh.update(from: map, count: b.pointee.mapCount)
                map.deallocate()
            }
            b.pointee.map = fresh
            b.pointee.mapCount = n
        }

        @inline(never)
        private func growEntries() {
            let n = max(64, b.pointee.capacity * 2)
            let slots = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
            let deltas = UnsafeMutablePointer<OpCounts>.allocate(capacity: n)
            if let slotOf = b.pointee.slotOf, let deltaOf = b.pointee.deltaOf {
                slots.moveInitialize(from: slotOf, count: b.pointee.count)
                deltas.moveInitialize(from: deltaOf, count: b.pointee.count)
                slotOf.deallocate()
                deltaOf.deallocate()
            }
            b.pointee.slotOf = slots
            b.pointee.deltaOf = deltas
            b.pointee.capacity = n
        }

        func holds(slot: Int) -> Bool { slot < b.pointee.mapCount && b.pointee.map.unsafelyUnwrapped[slot] != 0 }

        /// Adds `delta` to the slot's entry when the inbox holds the slot (one map lookup);
        /// returns whether it did.
        @inline(__always)
        func addIfHeld(slot: Int, _ delta: OpCounts) -> Bool {
            guard slot < b.pointee.mapCount else { return false }
            let e = Int(b.pointee.map.unsafelyUnwrapped[slot])
            guard e != 0 else { return false }
            b.pointee.deltaOf.unsafelyUnwrapped[e &- 1] += delta
            return true
        }

        /// Hands the entries over up to `chunk` at a time, slots and deltas at the same index, in
        /// the order the slots arrived (not ascending, unlike a drain's batches). The deltas are
        /// the entries' own (contiguous); only the 32-bit slots are widened into a scratch run.
        @inline(__always)
        func forEachRun(of chunk: Int, _ body: (_ slots: UnsafeBufferPointer<Int>, _ deltas: UnsafeBufferPointer<OpCounts>) -> Void) {
            let n = b.pointee.count
            guard n > 0 else { return }
            let slots = UnsafeMutablePointer<Int>.allocate(capacity: chunk)
            defer { slots.deallocate() }
            let slotOf = b.pointee.slotOf.unsafelyUnwrapped, deltaOf = b.pointee.deltaOf.unsafelyUnwrapped
            var start = 0
            while start < n {
                let m = min(chunk, n &- start)
                for i in 0..<m { slots[i] = Int(slotOf[start &+ i]) }
                body(UnsafeBufferPointer(start: slots, count: m), UnsafeBufferPointer(start: deltaOf + start, count: m))
                start &+= m
            }
        }

        /// Empties the inbox; a large one gives its entries' memory back (it refills only as
        /// fast as other consumers drain).
        func clear() {
            for i in 0..<b.pointee.count { b.pointee.map.unsafelyUnwrapped[Int(b.pointee.slotOf.unsafelyUnwrapped[i])] = 0 }
            b.pointee.count = 0
            b.pointee.unrouted = .zero
            if b.pointee.capacity > 4096 { releaseEntries() }
        }

        private func releaseEntries() {
            b.pointee.slotOf?.deallocate()
            b.pointee.deltaOf?.deallocate()
            b.pointee.slotOf = nil
            b.pointee.deltaOf = nil
            b.pointee.capacity = 0
            b.pointee.count = 0
        }

        /// Its consumer is gone: its memory back but the header, nothing added any more.
        func retire() {
            releaseEntries()
            b.pointee.map?.deallocate()
            b.pointee.map = nil
            b.pointee.mapCount = 0
            b.pointee.unrouted = .zero
            b.pointee.live = false
        }

        /// Gives every buffer back (the owner is going away).
        func free() {
            retire()
            b.deinitialize(count: 1)
            b.deallocate()
        }
    }

    /// Who owns each slot, in 12 bytes per slot: the catalog application that last saw it and
    /// the id of its route side by side (what a collect reads per delivered slot: one line), and
    /// its index in that catalog. A live route is read from the catalog itself; only routes that
    /// have left it keep a copy (`departed`, by slot) until their slot is reused. The id beside
    /// the generation is the id of that route, live or departed: both are written together when
    /// a slot gets a route, and `departed` loses a slot's entry only when the slot gets a route
    /// again (a collect checks it in debug builds).
    fileprivate struct Owners {
        typealias Owner = SlotOwner
        var owner: [Owner] = [Owner(seen: 0, id: 0)]
        var catalogIndex: [UInt32] = [0]
        var generation: UInt32 = 0
        var catalogRoutes: [Route] = []
        var departed: [Int: Route] = [:]

        /// The route that owns (or last owned) `slot`, nil for the unrouted slot.
        func route(ofSlot slot: Int) -> Route? {
            guard slot > 0, slot < owner.count, owner[slot].seen != 0 else { return nil }
            if owner[slot].seen == generation { return catalogRoutes[Int(catalogIndex[slot])] }
            return departed[slot]
        }

        /// The id of `route(ofSlot:)`, without copying the route (see the type's note).
        @inline(__always)
        func ownerID(ofSlot slot: Int) -> RouteID? {
            guard slot > 0, slot < owner.count else { return nil }
            let o = owner[slot]
            return o.seen != 0 ? RouteID(UInt64(o.id)) : nil
        }
    }

    private struct State: ~Copyable {
        var owners = Owners()
        var retired: [RouteID: Retired] = [:]
        /// Unmapped slots waiting for every inbox to deliver their last deltas.
        var expiring: [Int] = []
        var free: [Int] = []
        var inboxes: [Inbox] = []
        var slotsVisited = 0
    }

    private let state = Mutex(State())
    private let graceMs: Int64

    package init(stripes: Int, graceMs: Int64) {
        counters = RouteCounterTable(stripes: stripes)
        self.graceMs = max(0, graceMs)
    }

    deinit {
        state.withLock { s in for inbox in s.inboxes { inbox.free() } }
    }

    /// Registers a reader of the counters; its first collect reports what was observed after
    /// this call (earlier counts go to the consumers already registered).
    package func addConsumer() -> Int {
        state.withLock { s in
            pump(&s, for: -1) { _, _ in }
            s.inboxes.append(Inbox())
            return s.inboxes.count - 1
        }
    }

    /// Unregisters a consumer (its sampler is gone): its inbox is emptied and no longer filled,
    /// so it neither grows nor holds back the recycling of slots.
    package func removeConsumer(_ consumer: Int) {
        state.withLock { s in
            s.inboxes[consumer].retire()
        }
    }

    /// Consumers registered and not removed (for tests).
    package var liveConsumerCount: Int { state.withLock { $0.inboxes.filter(\.live).count } }

    /// Maps every route of `catalog` to a slot and retires the routes it no longer holds.
    package func apply(_ catalog: RouteCatalog, nowMs: Int64) {
        state.withLock { s in
            var o = s.owners
            s.owners = Owners()         // unshared while it changes (no copy of its arrays)
            let previous = o.generation
            o.generation &+= 1
            let generation = o.generation
            let wanted = o.owner.count + catalog.routes.count
            if o.owner.capacity < wanted {
                o.owner.reserveCapacity(wanted)
                o.catalogIndex.reserveCapacity(wanted)
            }
            let old = o.catalogRoutes
            for (index, route) in catalog.routes.enumerated() {
                var slot = counters.slot(of: route.id)
                // The table maps an id to a slot only while that route owns it (a slot is
                // reused only after its route was unmapped); checked all the same.
                if slot != 0, o.ownerID(ofSlot: slot) == route.id {
                    // Already mapped: live, or back within its grace window (keep one row).
                    if o.owner[slot].seen != previous {
                        s.retired[route.id] = nil
                        o.departed[slot] = nil
                    }
                } else if let reused = s.free.popLast() {
                    slot = reused
                    o.departed[slot] = nil      // its route was unmapped and every inbox delivered
                } else if let fresh = counters.allocateSlot() {
                    o.owner.append(SlotOwner(seen: 0, id: 0))
                    o.catalogIndex.append(0)
                    slot = fresh
                } else {
                    continue                // table full: the route's observations count as unrouted
                }
                o.owner[slot] = SlotOwner(seen: generation, id: UInt32(truncatingIfNeeded: route.id.rawValue))  // mapped: below 2^32
                o.catalogIndex[slot] = UInt32(index)
                counters.map(route: route.id, to: slot)
            }
            // Live before this catalog and not in it: retired, keeping a copy of the route.
            for slot in 1..<o.owner.count where o.owner[slot].seen == previous {
                let route = old[Int(o.catalogIndex[slot])]
                s.retired[route.id] = Retired(slot: slot, sinceMs: nowMs)
                o.departed[slot] = route
            }
            o.catalogRoutes = catalog.routes
            s.owners = o
        }
    }

    /// Drains the touched slots (into every other consumer's inbox), then hands each of
    /// `consumer`'s deltas to `body` with the route that owns (or last owned) its slot, once per
    /// slot; returns the consumer's unrouted delta. Routes whose grace window has ended are
    /// unmapped first; their slots are recycled once no inbox holds a delta for them.
    /// `reserve` is called first with about how many deltas will follow (to size an output once).
    @discardableResult
    package func collect(consumer: Int, nowMs: Int64, reserve: ((Int) -> Void)? = nil,
                         _ body: (_ slot: Int, _ route: RouteID, _ delta: OpCounts, _ owners: SlotOwners) -> Void) -> OpCounts {
        var unowned = OpCounts()
        let unrouted = collect(consumer: consumer, nowMs: nowMs, reserve: reserve) { (slots: UnsafeBufferPointer<Int>, deltas: UnsafeBufferPointer<OpCounts>, owners: SlotOwners) in
            for i in slots.indices {
                let owner = owners.table[slots[i]]
                if owner.seen != 0 { body(slots[i], RouteID(UInt64(owner.id)), deltas[i], owners) } else { unowned += deltas[i] }
            }
        }
        return unrouted + unowned
    }

    /// The same, the deltas handed over in runs (up to ``RouteCounterTable/drainBatch`` at a
    /// time: slots and their deltas at the same index, no slot twice in one collect, no zero
    /// delta, never the unrouted slot, every slot within ``SlotOwners/table``), so a consumer
    /// folds them in a loop of its own, reading each slot's owner from the table as it goes,
    /// rather than through a call per slot or a copy of each delta with its route. Every slot
    /// handed over has been owned (`seen` is not 0): only ``apply(_:nowMs:)`` maps routes to
    /// slots, after it records their owners. A consumer that finds one that was not counts
    /// it as unrouted, as the per-slot form above does.
    @discardableResult
    package func collect(consumer: Int, nowMs: Int64, reserve: ((Int) -> Void)? = nil,
                         runs body: (_ slots: UnsafeBufferPointer<Int>, _ deltas: UnsafeBufferPointer<OpCounts>, _ owners: SlotOwners) -> Void) -> OpCounts {
        state.withLock { s in
            for (id, r) in s.retired where nowMs - r.sinceMs >= graceMs {
                counters.map(route: id, to: 0)
                s.expiring.append(r.slot)
                s.retired[id] = nil
            }
            if let reserve { reserve(s.inboxes[consumer].count + counters.dirtySlotCount()) }
            let current = s.owners   // shares its arrays: nothing below changes them
            let inbox = s.inboxes[consumer]
            var unrouted = OpCounts()
            withUnsafePointer(to: current) { current in current.pointee.owner.withUnsafeBufferPointer { table in
                let owners = SlotOwners(owners: current, table: table)
                // A run as the consumer takes it: the unrouted slot, which only a drain's first
                // batch can start with (its slots ascend), goes to `unrouted`.
                @inline(__always) func deliver(_ slots: UnsafeBufferPointer<Int>, _ deltas: UnsafeBufferPointer<OpCounts>) {
                    guard let first = slots.first, let last = slots.last else { return }
                    // A drained run ascends, so its last slot is its largest (an inbox's entries
                    // passed this check when they were drained; the table never shrinks).
                    precondition(last < table.count, "a drained slot has no owner entry")
                    assert(slots.allSatisfy { $0 == 0 || current.pointee.route(ofSlot: $0)?.id == RouteID(UInt64(table[$0].id)) },
                           "a drained slot is not owned, or its stored id is not its route's")
                    if first == 0 {
                        unrouted += deltas[0]
                        if slots.count > 1 { body(UnsafeBufferPointer(rebasing: slots.dropFirst()), UnsafeBufferPointer(rebasing: deltas.dropFirst()), owners) }
                    } else {
                        body(slots, deltas, owners)
                    }
                }
                // This consumer's own drain goes straight to it, unless the inbox already holds the
                // slot (then it joins that entry, so each slot is delivered once).
                pump(&s, for: consumer, deliver)
                inbox.forEachRun(of: RouteCounterTable.drainBatch, deliver)
            } }
            unrouted += inbox.unrouted
            inbox.clear()
            if !s.expiring.isEmpty {
                var waiting: [Int] = []
                for slot in s.expiring {
                    if s.inboxes.contains(where: { $0.holds(slot: slot) }) { waiting.append(slot) } else { s.free.append(slot) }
                }
                s.expiring = waiting
            }
            return unrouted
        }
    }

    /// Moves the table's touched counts into every inbox but `consumer`'s; `consumer`'s share
    /// goes to `direct` (when its inbox does not hold the slot already). A batch at a time, one
    /// loop per inbox. (The inboxes are copied out first: a closure capturing `s` itself cost
    /// two dynamic exclusivity checks per touched slot. Inlined into the collect: as a call,
    /// `direct`'s captures were checked at run time too.)
    @inline(__always)
    private func pump(_ s: inout State, for consumer: Int,
                      _ direct: (_ slots: UnsafeBufferPointer<Int>, _ deltas: UnsafeBufferPointer<OpCounts>) -> Void) {
        let slotCount = counters.allocatedSlots
        // Decided once per drain, not per slot: the other live inboxes, and whether this
        // consumer's own inbox can hold a slot (while it is empty it cannot: its own drain
        // adds to it only slots it already holds).
        let others = s.inboxes.indices.filter { $0 != consumer && s.inboxes[$0].live }.map { s.inboxes[$0] }
        let takes = consumer >= 0 && s.inboxes[consumer].live
        let own: Inbox? = takes && s.inboxes[consumer].count > 0 ? s.inboxes[consumer] : nil
        // The slots of a batch that the own inbox does not hold (only when it holds some).
        let rest = own.map { _ in SlotRunBuffer(capacity: RouteCounterTable.drainBatch) }
        defer { rest?.deallocate() }
        let visited = others.withUnsafeBufferPointer { others in
            counters.drainDirty { (slots: UnsafeBufferPointer<Int>, deltas: UnsafeBufferPointer<OpCounts>) in
                for o in others { o.add(slots: slots, deltas: deltas, slotCount: slotCount) }
                guard takes else { return }
                guard let own, let rest else { return direct(slots, deltas) }
                var n = 0
                for i in slots.indices {
                    if slots[i] == 0 || !own.addIfHeld(slot: slots[i], deltas[i]) {
                        rest.slots[n] = slots[i]
                        rest.deltas[n] = deltas[i]
                        n &+= 1
                    }
                }
                let run = rest.run(n)
                direct(run.slots, run.deltas)
            }
        }
        s.slotsVisited += visited
    }

    /// The route that owns (or last owned) `slot`.
    package func owner(ofSlot slot: Int) -> Route? {
        state.withLock { $0.owners.route(ofSlot: slot) }
    }

    /// Slots handed out so far (including the unrouted slot 0).
    package var slotCount: Int { state.withLock { $0.owners.owner.count } }

    /// Slots the drains have visited so far: the touched ones only (for tests of drain cost).
    package var slotsVisited: Int { state.withLock { $0.slotsVisited } }

    /// Routes retired but still inside their grace window.
    package var retiredRouteCount: Int { state.withLock { $0.retired.count } }
}

/// Who owns a slot, as a collect's consumer reads it per delivered slot: the catalog
/// application that last saw its route and that route's id, side by side (one 8-byte load).
package struct SlotOwner: Sendable {
    /// The catalog application that last saw the slot's route (0: never owned). A slot is live
    /// exactly when this is the latest generation.
    package var seen: UInt32
    /// That route's id (ids are below 2^32), kept while its slot is not reused.
    package var id: UInt32

    package init(seen: UInt32, id: UInt32) {
        self.seen = seen
        self.id = id
    }
}

/// The slot owners as a collect sees them: looks up the route behind a delivered slot (a
/// consumer that caches by route id only asks on a miss; a route copy costs two retains).
///
/// Pointers into the collect's own copy of the owners, valid only while the collect that
/// hands it over runs: a consumer must not keep it (or ``table``) past its body. Pointers, so
/// that copying it (a closure capturing it, once per run) costs no reference counting.
package struct SlotOwners {
    private let owners: UnsafePointer<RouteSlots.Owners>
    /// Every slot's owner, indexed by slot.
    package let table: UnsafeBufferPointer<SlotOwner>

    fileprivate init(owners: UnsafePointer<RouteSlots.Owners>, table: UnsafeBufferPointer<SlotOwner>) {
        self.owners = owners
        self.table = table
    }

    /// The route that owns (or last owned) `slot`.
    package func route(ofSlot slot: Int) -> Route? { owners.pointee.route(ofSlot: slot) }
}
