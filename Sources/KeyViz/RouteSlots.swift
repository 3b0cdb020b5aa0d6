import Synchronization

/// Per-route counters that follow a changing route catalog without losing a count.
///
/// Both KeyViz samplers (the heat matrix and the Prometheus decorator) keep their counts here.
/// It owns a `RouteCounterTable` for the hot path and, under a lock the hot path never
/// takes, the bookkeeping of which route owns which slot:
///
/// - a route new to the catalog gets a slot at once (before the catalog is published);
/// - a route that leaves the catalog stays mapped for a grace window, so observations by
///   threads that resolved it just before the change still land on it; then it is unmapped
///   (later observations count as unrouted) and its slot is recycled;
/// - ``drain(nowMs:_:)`` drains *every* slot ever allocated, live, retired or free, and hands
///   each non-zero delta to the caller with the route that last owned the slot. A count is
///   therefore never left behind in a slot nobody reads, whatever the timing.
package final class RouteSlots: Sendable {
    package let counters: RouteCounterTable

    private struct Retired {
        var slot: Int
        var sinceMs: Int64
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
        var free: [Int] = []
    }

    private let state = Mutex(State())
    private let graceMs: Int64

    package init(stripes: Int, graceMs: Int64) {
        counters = RouteCounterTable(stripes: stripes)
        self.graceMs = max(0, graceMs)
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

    /// Drains all slots, handing each non-zero delta to `body` with its slot, the id of the route
    /// that owns (or last owned) the slot, and the owners table (borrowed, for looking up the
    /// route itself); returns the unrouted delta. Routes whose grace window has ended are
    /// unmapped first and their slots recycled after this drain.
    @discardableResult
    package func drain(nowMs: Int64, _ body: (_ slot: Int, _ owner: RouteID, _ delta: OpCounts, _ owners: borrowing [Route?]) -> Void) -> OpCounts {
        state.withLock { s in
            var expired: [Int] = []
            for (id, r) in s.retired where nowMs - r.sinceMs >= graceMs {
                counters.map(route: id, to: 0)
                expired.append(r.slot)
                s.retired[id] = nil
            }
            let unrouted = counters.drain(slot: 0)
            for slot in 1..<s.owners.count {
                let delta = counters.drain(slot: slot)
                let id = s.ownerIDs[slot]
                if !delta.isZero, id != .unrouted { body(slot, id, delta, s.owners) }
            }
            s.free.append(contentsOf: expired)
            return unrouted
        }
    }

    /// The route that owns (or last owned) `slot`.
    package func owner(ofSlot slot: Int) -> Route? {
        state.withLock { slot < $0.owners.count ? $0.owners[slot] : nil }
    }

    /// Slots handed out so far (including the unrouted slot 0).
    package var slotCount: Int { state.withLock { $0.owners.count } }

    /// Routes retired but still inside their grace window.
    package var retiredRouteCount: Int { state.withLock { $0.retired.count } }
}
