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
    /// The reference of each route id (the first route with it): open addressing, reference + 1
    /// per slot (0 empty), at most half full, 4 bytes a slot. A `[RouteID: UInt32]` cost about
    /// 25 bytes a route at a million routes; the hash is seeded per process, so ids chosen to
    /// collide (a crafted state file) do not line up.
    private var index: [UInt32] = []
    private var indexed = 0
    private static let seed: UInt64 = {
        var g = SystemRandomNumberGenerator()
        return g.next() | 1
    }()
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
        if (indexed + max(0, additional)) * 2 > index.count { rehash(minimum: (indexed + additional) * 2) }
    }

    /// The reference of `route`, nil when no column uses it.
    func find(_ route: Route) -> UInt32? {
        guard let r = lookup(route.id) else { return nil }
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
        if lookup(route.id) == nil { insert(r) } else { others[route] = r }
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
        if lookup(route.id) == r {
            remove(route.id)
            if !others.isEmpty, let other = others.first(where: { $0.key.id == route.id }) {
                others[other.key] = nil
                insert(other.value)
            }
        } else {
            others[route] = nil
        }
        routes[Int(r)] = Route(id: route.id, start: [], end: [], group: route.group)
        free.append(r)
    }

    // MARK: the id index

    private func home(_ id: RouteID) -> Int {
        let h = (id.rawValue ^ Self.seed) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h >> 32) & (index.count - 1)
    }

    private func lookup(_ id: RouteID) -> UInt32? {
        guard !index.isEmpty else { return nil }
        var i = home(id)
        while true {
            let e = index[i]
            if e == 0 { return nil }
            if routes[Int(e - 1)].id == id { return e - 1 }
            i = (i + 1) & (index.count - 1)
        }
    }

    /// Indexes `r` under its route's id (not indexed yet).
    private mutating func insert(_ r: UInt32) {
        if (indexed + 1) * 2 > index.count { rehash(minimum: (indexed + 1) * 2) }
        var i = home(routes[Int(r)].id)
        while index[i] != 0 { i = (i + 1) & (index.count - 1) }
        index[i] = r + 1
        indexed += 1
    }

    /// Takes `id` out of the index; later entries of its run move back (backward-shift deletion).
    private mutating func remove(_ id: RouteID) {
        let mask = index.count - 1
        var i = home(id)
        while routes[Int(index[i] - 1)].id != id { i = (i + 1) & mask }
        var hole = i
        var j = (i + 1) & mask
        while index[j] != 0 {
            let h = home(routes[Int(index[j] - 1)].id)
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !between {
                index[hole] = index[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        index[hole] = 0
        indexed -= 1
    }

    private mutating func rehash(minimum: Int) {
        var size = max(16, index.count)
        while size < minimum { size *= 2 }
        let old = index
        index = [UInt32](repeating: 0, count: size)
        for e in old where e != 0 {
            var i = home(routes[Int(e - 1)].id)
            while index[i] != 0 { i = (i + 1) & (size - 1) }
            index[i] = e
        }
    }

    /// Every route in use is found at its reference, and the index holds exactly one live
    /// reference per id in use (for the invariant checks of tests).
    package var indexIsConsistent: Bool {
        for r in routes.indices where uses[r] > 0 && find(routes[r]) != UInt32(r) { return false }
        let entries = index.filter { $0 != 0 }
        let ids = Set(routes.indices.filter { uses[$0] > 0 }.map { routes[$0].id })
        return entries.count == indexed && entries.allSatisfy { uses[Int($0 - 1)] > 0 }
            && Set(entries.map { routes[Int($0 - 1)].id }) == ids && ids.count == indexed
    }

    /// Uses of each reference (0: free), for the invariant checks of tests.
    package var useCounts: [UInt32] { uses }
}
