import Synchronization

/// The route change events a heat matrix reports beside its columns (splits and merges on the
/// page's time axis), in a bounded ring.
///
/// ``record(from:to:atUnixMs:)`` diffs two catalogs: routes present in both with the same id
/// and key range are unchanged; the others are grouped into runs whose key ranges overlap, and
/// each run is one event (see ``RouteChangeEvent/Kind``). The diff walks both catalogs once in
/// key order: O(routes) comparisons, no hashing, no allocation for unchanged routes.
///
/// At most ``capacity`` events are kept; older ones are dropped and counted in
/// ``droppedCount`` so a reader can tell that the list is incomplete.
public final class RouteChangeLog: Sendable {
    public let capacity: Int

    private struct State {
        var ring: [RouteChangeEvent] = []
        var head = 0
        var dropped: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Default number of events kept: at the demo's churn of one change per 5 s, 85 minutes.
    public static let defaultCapacity = 1024

    /// - Parameter capacity: events kept, clamped to 1…1 000 000.
    public init(capacity: Int = RouteChangeLog.defaultCapacity) {
        self.capacity = min(1_000_000, max(1, capacity))
    }

    /// Records the events that turn `old` into `new`, stamped `unixMs`. Nothing when the route
    /// ranges are the same (a version bump, a group move).
    public func record(from old: RouteCatalog, to new: RouteCatalog, atUnixMs unixMs: Int64) {
        let events = Self.diff(old: old.routes, new: new.routes, unixMs: unixMs, version: new.version)
        guard !events.isEmpty else { return }
        state.withLock { s in
            for e in events {
                if s.ring.count < capacity {
                    s.ring.append(e)
                } else {
                    s.ring[s.head] = e
                    s.head = (s.head + 1) % capacity
                    s.dropped &+= 1
                }
            }
        }
    }

    /// Puts saved events (oldest first) back before the ones recorded since: what a restored
    /// history brings. Past ``capacity`` the oldest are dropped and counted.
    package func restore(_ saved: [RouteChangeEvent]) {
        guard !saved.isEmpty else { return }
        state.withLock { s in
            let current = (0..<s.ring.count).map { s.ring[(s.head + $0) % s.ring.count] }
            let all = saved + current
            let kept = all.suffix(capacity)
            s.dropped &+= UInt64(all.count - kept.count)
            s.ring = Array(kept)
            s.head = 0
        }
    }

    /// The kept events stamped in `[fromUnixMs, toUnixMs)` (nil = unbounded), oldest first.
    public func events(fromUnixMs: Int64? = nil, toUnixMs: Int64? = nil) -> [RouteChangeEvent] {
        state.withLock { s in
            var out: [RouteChangeEvent] = []
            let n = s.ring.count
            for k in 0..<n {
                let e = s.ring[(s.head + k) % n]
                if let f = fromUnixMs, e.unixMs < f { continue }
                if let t = toUnixMs, e.unixMs >= t { continue }
                out.append(e)
            }
            return out
        }
    }

    /// Events dropped from the ring since the log was made.
    public var droppedCount: UInt64 { state.withLock { $0.dropped } }

    /// The events between two key-ordered route lists (catalog order: start key, then id).
    static func diff(old: [Route], new: [Route], unixMs: Int64, version: UInt64) -> [RouteChangeEvent] {
        // 1. The changed routes of each side, in key order.
        var gone: [Route] = [], came: [Route] = []
        var i = 0, j = 0
        while i < old.count || j < new.count {
            if i < old.count, j < new.count {
                let a = old[i], b = new[j]
                if a.id == b.id, a.start == b.start {
                    if a.end != b.end { gone.append(a); came.append(b) }
                    i += 1; j += 1
                } else if precedes(a, b) {
                    gone.append(a); i += 1
                } else {
                    came.append(b); j += 1
                }
            } else if i < old.count {
                gone.append(old[i]); i += 1
            } else {
                came.append(new[j]); j += 1
            }
        }
        // 2. Runs of overlapping ranges across both sides: one event each.
        var events: [RouteChangeEvent] = []
        var g = 0, c = 0
        while g < gone.count || c < came.count {
            var before: [Route] = [], after: [Route] = []
            var beforeCount = 0, afterCount = 0
            var reach: [UInt8]? = nil     // the run's end so far; [] = +infinity
            func take(_ r: Route, into side: inout [Route], count: inout Int) {
                if side.count < RouteChangeEvent.maxListedRoutes { side.append(r) }
                count += 1
                if let e = reach {
                    if !e.isEmpty && (r.end.isEmpty || e.lexicographicallyPrecedes(r.end)) { reach = r.end }
                } else {
                    reach = r.end
                }
            }
            while true {
                let nextGone = g < gone.count ? gone[g] : nil
                let nextCame = c < came.count ? came[c] : nil
                let pickGone: Bool
                switch (nextGone, nextCame) {
                case (nil, nil): pickGone = false
                case (.some, nil): pickGone = true
                case (nil, .some): pickGone = false
                case let (.some(a), .some(b)): pickGone = !b.start.lexicographicallyPrecedes(a.start)
                }
                guard let r = pickGone ? nextGone : nextCame else { break }
                if let e = reach, e.isEmpty == false, !r.start.lexicographicallyPrecedes(e) { break }
                if pickGone { take(r, into: &before, count: &beforeCount); g += 1 } else { take(r, into: &after, count: &afterCount); c += 1 }
            }
            events.append(RouteChangeEvent(kind: kind(before: before, beforeCount: beforeCount, after: after, afterCount: afterCount),
                                           unixMs: unixMs, catalogVersion: version,
                                           before: before, beforeCount: beforeCount, after: after, afterCount: afterCount))
        }
        return events
    }

    private static func precedes(_ a: Route, _ b: Route) -> Bool {
        a.start.lexicographicallyPrecedes(b.start) || (a.start == b.start && a.id < b.id)
    }

    /// Split and merge need one side to be a single route whose range the other side tiles.
    private static func kind(before: [Route], beforeCount: Int, after: [Route], afterCount: Int) -> RouteChangeEvent.Kind {
        if beforeCount == 0 { return .add }
        if afterCount == 0 { return .remove }
        if beforeCount == 1, afterCount >= 2, after.count == afterCount, tiles(after, before[0]) { return .split }
        if afterCount == 1, beforeCount >= 2, before.count == beforeCount, tiles(before, after[0]) { return .merge }
        return .reshape
    }

    /// Whether `parts` (key order) cover exactly `whole`'s range without gap or overlap.
    private static func tiles(_ parts: [Route], _ whole: Route) -> Bool {
        guard let first = parts.first, let last = parts.last, first.start == whole.start, last.end == whole.end else { return false }
        for (a, b) in zip(parts, parts.dropFirst()) where a.end.isEmpty || a.end != b.start { return false }
        return true
    }
}
