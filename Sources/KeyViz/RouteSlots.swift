import Synchronization

/// Per-route counters that follow a changing route catalog without losing a count, read by
/// one or more consumers.
///
/// One table serves a whole sampler chain: the heat matrix and the Prometheus decorator wrapping
/// it both read the counters the matrix's `observe` adds to, so an observation costs one slot
/// lookup and one pair of adds, not one per sampler. Each reader registers as a *consumer*
/// (``addConsumer()``) and takes its deltas with ``collect(consumer:nowMs:_:)``. A collect
/// drains the table's dirty slots once and appends each delta to every consumer's *inbox* (a
/// sparse per-consumer sum: one entry per touched slot), then hands the caller its own inbox.
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

    /// One consumer's undelivered deltas: a dense slot → entry map and the entries.
    private struct Inbox {
        var entryOfSlot: [UInt32] = []      // 0 = none, else entry index + 1
        var slots: [Int] = []
        var deltas: [OpCounts] = []
        var unrouted = OpCounts()

        mutating func add(slot: Int, _ delta: OpCounts) {
            if slot >= entryOfSlot.count {
                entryOfSlot += repeatElement(0, count: max(slot + 1, entryOfSlot.count * 2) - entryOfSlot.count)
            }
            let e = Int(entryOfSlot[slot])
            if e != 0 {
                deltas[e - 1] += delta
            } else {
                slots.append(slot)
                deltas.append(delta)
                entryOfSlot[slot] = UInt32(slots.count)
            }
        }

        func holds(slot: Int) -> Bool { slot < entryOfSlot.count && entryOfSlot[slot] != 0 }

        mutating func clear() {
            for s in slots { entryOfSlot[s] = 0 }
            slots.removeAll(keepingCapacity: true)
            deltas.removeAll(keepingCapacity: true)
            unrouted = .zero
        }
    }

    private struct State: ~Copyable {
        /// The route that owns (or last owned) each slot; index 0 is the unrouted slot.
        var owners: [Route?] = [nil]
        /// `owners[slot]?.id`, kept apart so the fold reads ids without touching the key arrays.
        var ownerIDs: [RouteID] = [.unrouted]
        /// Per slot: the catalog application that last saw its owner. A slot is live exactly
        /// when this is the latest `generation`; the id directory maps routes to slots, so no
        /// route → slot dictionary is kept (4 bytes per slot instead of ~40).
        var seen: [UInt32] = [0]
        var generation: UInt32 = 0
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

    /// Registers a reader of the counters; its first collect reports what was observed after
    /// this call (earlier counts go to the consumers already registered).
    package func addConsumer() -> Int {
        state.withLock { s in
            pump(&s)
            s.inboxes.append(Inbox())
            return s.inboxes.count - 1
        }
    }

    /// Maps every route of `catalog` to a slot and retires the routes it no longer holds.
    package func apply(_ catalog: RouteCatalog, nowMs: Int64) {
        state.withLock { s in
            let previous = s.generation
            s.generation &+= 1
            let generation = s.generation
            for route in catalog.routes {
                var slot = counters.slot(of: route.id)
                if slot != 0, s.ownerIDs[slot] == route.id {
                    // Already mapped: live, or back within its grace window (keep one row).
                    if s.seen[slot] != previous { s.retired[route.id] = nil }
                } else if let reused = s.free.popLast() {
                    slot = reused
                } else if let fresh = counters.allocateSlot() {
                    s.owners.append(nil)
                    s.ownerIDs.append(.unrouted)
                    s.seen.append(0)
                    slot = fresh
                } else {
                    continue                // table full: the route's observations count as unrouted
                }
                s.owners[slot] = route
                s.ownerIDs[slot] = route.id
                s.seen[slot] = generation
                counters.map(route: route.id, to: slot)
            }
            // Live before this catalog and not in it: retired.
            for slot in 1..<s.owners.count where s.seen[slot] == previous {
                s.retired[s.ownerIDs[slot]] = Retired(slot: slot, sinceMs: nowMs)
            }
        }
    }

    /// Drains the touched slots into every inbox, then hands each of `consumer`'s deltas to
    /// `body` with its slot, the id of the route that owns (or last owned) the slot, and the
    /// owners table (borrowed, for looking up the route itself); returns the consumer's
    /// unrouted delta. Routes whose grace window has ended are unmapped first; their slots are
    /// recycled once no inbox holds a delta for them.
    @discardableResult
    package func collect(consumer: Int, nowMs: Int64,
                         _ body: (_ slot: Int, _ owner: RouteID, _ delta: OpCounts, _ owners: borrowing [Route?]) -> Void) -> OpCounts {
        state.withLock { s in
            for (id, r) in s.retired where nowMs - r.sinceMs >= graceMs {
                counters.map(route: id, to: 0)
                s.expiring.append(r.slot)
                s.retired[id] = nil
            }
            pump(&s)
            let inbox = s.inboxes[consumer]
            for (slot, delta) in zip(inbox.slots, inbox.deltas) {
                let id = s.ownerIDs[slot]
                if id != .unrouted { body(slot, id, delta, s.owners) }
            }
            let unrouted = inbox.unrouted
            s.inboxes[consumer].clear()
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

    /// Moves the table's touched counts into every inbox.
    private func pump(_ s: inout State) {
        guard !s.inboxes.isEmpty else {
            s.slotsVisited += counters.drainDirty { _, _ in }     // nobody reads yet: what was observed is nobody's
            return
        }
        s.slotsVisited += counters.drainDirty { slot, delta in
            for i in s.inboxes.indices {
                if slot == 0 { s.inboxes[i].unrouted += delta } else { s.inboxes[i].add(slot: slot, delta) }
            }
        }
    }

    /// The route that owns (or last owned) `slot`.
    package func owner(ofSlot slot: Int) -> Route? {
        state.withLock { slot < $0.owners.count ? $0.owners[slot] : nil }
    }

    /// Slots handed out so far (including the unrouted slot 0).
    package var slotCount: Int { state.withLock { $0.owners.count } }

    /// Slots the drains have visited so far: the touched ones only (for tests of drain cost).
    package var slotsVisited: Int { state.withLock { $0.slotsVisited } }

    /// Routes retired but still inside their grace window.
    package var retiredRouteCount: Int { state.withLock { $0.retired.count } }
}
