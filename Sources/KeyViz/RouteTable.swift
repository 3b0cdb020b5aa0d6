/// The routes a ``TieredHistory``'s columns refer to, each kept once and referred to by a
/// 32-bit reference, with a count of the column entries that use it.
///
/// Why: a column entry that held its whole ``Route`` cost 32 bytes and two reference counts per
/// cell, and a snapshot looked each one up in a hashed index (over half of a 100 000-route
/// matrix's time). With references, a snapshot sums cells by array index, and a route that no
/// column uses any more is forgotten and its reference reused, so route churn does not grow the
/// table.
///
/// A route is its id and key range (and group): ids are unique within a process, but a restored
/// history may use an id for another range, so an id maps to one route and the rare others with
/// the same id are kept apart.
struct RouteTable {
    /// By reference; a free reference holds a placeholder without keys.
    private(set) var routes: [Route] = []
    private var uses: [UInt32] = []
    private var free: [UInt32] = []
    private var byID: [RouteID: UInt32] = [:]
    private var others: [Route: UInt32] = [:]

    init() {}

    /// References in use.
    var count: Int { routes.count - free.count }

    /// Room for `additional` new routes, grown geometrically in one step: a first flush of a
    /// million routes allocates each array and the index once instead of through a chain of
    /// doublings whose freed buffers stayed in the allocator's heap (~30 B per route resident).
    mutating func reserve(additional: Int) {
        let needed = routes.count + max(0, additional)
        if routes.capacity < needed {
            let grown = max(needed, routes.capacity * 2)
            routes.reserveCapacity(grown)
            uses.reserveCapacity(grown)
        }
        if byID.capacity < byID.count + additional { byID.reserveCapacity(max(byID.count + additional, byID.capacity * 2)) }
    }

    /// The reference of `route`, nil when no column uses it.
    func find(_ route: Route) -> UInt32? {
        guard let r = byID[route.id] else { return nil }
        return routes[Int(r)] == route ? r : others[route]
    }

    /// Whether `hint` is the reference of `route` (a cheap check of a remembered reference,
    /// where ``find(_:)`` hashes: the key arrays of a route kept in the table compare by identity).
    func holds(_ route: Route, at hint: UInt32) -> Bool {
        Int(hint) < routes.count && uses[Int(hint)] > 0 && routes[Int(hint)] == route
    }

    /// The reference of `route`, added when absent, with one more use. `hint`: where the route
    /// was last time, tried before the hashed lookup.
    mutating func retain(_ route: Route, hint: UInt32 = .max) -> UInt32 {
        if holds(route, at: hint) {
            uses[Int(hint)] += 1
            return hint
        }
        if let r = find(route) {
            uses[Int(r)] += 1
            return r
        }
        let r: UInt32
        if let f = free.popLast() {
            r = f
            routes[Int(r)] = route
            uses[Int(r)] = 1
        } else {
            r = UInt32(routes.count)
            routes.append(route)
            uses.append(1)
        }
        if byID[route.id] == nil { byID[route.id] = r } else { others[route] = r }
        return r
    }

    /// One more use of a reference in use.
    mutating func retain(_ r: UInt32) {
        uses[Int(r)] += 1
    }

    /// One use fewer; at none the route is forgotten and its reference freed.
    mutating func release(_ r: UInt32) {
        uses[Int(r)] -= 1
        guard uses[Int(r)] == 0 else { return }
        let route = routes[Int(r)]
        if byID[route.id] == r {
            byID[route.id] = nil
            if !others.isEmpty, let other = others.first(where: { $0.key.id == route.id }) {
                others[other.key] = nil
                byID[route.id] = other.value
            }
        } else {
            others[route] = nil
        }
        routes[Int(r)] = Route(id: route.id, start: [], end: [], group: route.group)
        free.append(r)
    }

    /// Uses of each reference (0: free), for the invariant checks of tests.
    package var useCounts: [UInt32] { uses }
}
