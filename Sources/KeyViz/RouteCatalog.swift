/// An immutable, versioned, sorted set of routes.
///
/// Invariants, checked by every initializer and change (a bad input throws and nothing is
/// built): at least one route; ids unique and below ``RouteID/limit``; every route non-empty;
/// routes sorted by start key; each route ends exactly where the next starts (no overlap, no
/// gap); only the last route may be unbounded. Keys before the first route or after a bounded
/// last route have no route: a coordinator reports them as errors and samplers count them
/// as unrouted.
///
/// Changes (``splitting(_:at:leftID:rightID:)``, ``merging(_:_:into:)``, ``adding(_:)``,
/// ``removing(_:)``) return a new catalog with `version + 1`.
public struct RouteCatalog: Sendable, Equatable {
    public let version: UInt64
    /// Routes in key order.
    public let routes: [Route]
    /// The smallest id never used by this catalog or its ancestors; ids are not reused.
    public let nextRouteID: RouteID

    public init(version: UInt64 = 1, routes: [Route]) throws(RouteCatalogError) {
        try self.init(version: version, routes: routes, nextRouteID: 0)
    }

    private init(version: UInt64, routes: [Route], nextRouteID: RouteID) throws(RouteCatalogError) {
        let sorted = routes.sorted { a, b in
            a.start.lexicographicallyPrecedes(b.start) || (a.start == b.start && a.id < b.id)
        }
        try Self.validate(sorted)
        self.version = version
        self.routes = sorted
        self.nextRouteID = max(nextRouteID, RouteID((sorted.map(\.id).max() ?? 0).rawValue + 1))
    }

    /// A derived catalog: `routes[changed]` replaced an already valid, sorted neighbourhood, so
    /// only the new routes and their seams need checking (O(n) for id uniqueness, no sort).
    private init(version: UInt64, sortedRoutes routes: [Route], changed: Range<Int>, nextRouteID: RouteID) throws(RouteCatalogError) {
        guard !routes.isEmpty else { throw .empty }
        for i in changed {
            try Self.check(routes[i])
            for (j, other) in routes.enumerated() where j != i && other.id == routes[i].id { throw .duplicateID(other.id) }
        }
        for i in max(0, changed.lowerBound - 1)..<min(routes.count - 1, changed.upperBound + 1) {
            try Self.checkSeam(routes[i], routes[i + 1])
        }
        self.version = version
        self.routes = routes
        self.nextRouteID = max(nextRouteID, RouteID((routes[changed].map(\.id).max() ?? 0).rawValue + 1))
    }

    /// A catalog of `count` routes over the keys `prefix` + zero-padded decimal, assigned to
    /// groups round-robin: handy for demos and tests. The first route starts at the empty key
    /// and the last is unbounded, so every key has a route.
    public static func evenlySplit(count: Int, groups: Int, prefix: String = "key/", width: Int = 8) -> RouteCatalog {
        precondition(count >= 1 && groups >= 1)
        var routes: [Route] = []
        routes.reserveCapacity(count)
        var previous: [UInt8] = []
        let space = Int(pow10(width))
        for i in 0..<count {
            let end: [UInt8] = i == count - 1 ? [] : Array((prefix + zeroPadded((i + 1) * space / count, width: width)).utf8)
            routes.append(Route(id: RouteID(i + 1), start: previous, end: end, group: ShardGroupID(i % groups + 1)))
            previous = end
        }
        // Valid by construction.
        return try! RouteCatalog(routes: routes)
    }

    // MARK: lookups

    /// The index of the route holding `key`, by binary search.
    public func index(forKey key: some Collection<UInt8>) -> Int? {
        // The last route whose start <= key.
        var lo = 0, hi = routes.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if key.lexicographicallyPrecedes(routes[mid].start) { hi = mid } else { lo = mid + 1 }
        }
        guard lo > 0 else { return nil }
        let r = routes[lo - 1]
        return r.end.isEmpty || key.lexicographicallyPrecedes(r.end) ? lo - 1 : nil
    }

    public func route(forKey key: some Collection<UInt8>) -> Route? {
        index(forKey: key).map { routes[$0] }
    }

    public func index(ofRoute id: RouteID) -> Int? {
        routes.firstIndex { $0.id == id }
    }

    public func route(id: RouteID) -> Route? {
        index(ofRoute: id).map { routes[$0] }
    }

    // MARK: changes

    /// Splits route `id` at `key` into `[start, key)` and `[key, end)` with two new ids.
    public func splitting(_ id: RouteID, at key: [UInt8], leftID: RouteID? = nil, rightID: RouteID? = nil) throws(RouteCatalogError) -> RouteCatalog {
        guard let i = index(ofRoute: id) else { throw .unknownRoute(id) }
        let r = routes[i]
        guard r.start.lexicographicallyPrecedes(key), r.end.isEmpty || key.lexicographicallyPrecedes(r.end) else {
            throw .splitKeyOutsideRoute(r, key: key)
        }
        let l = leftID ?? nextRouteID
        let rr = rightID ?? (leftID == nil ? RouteID(nextRouteID.rawValue + 1) : nextRouteID)
        var next = routes
        next.replaceSubrange(i...i, with: [
            Route(id: l, start: r.start, end: key, group: r.group),
            Route(id: rr, start: key, end: r.end, group: r.group),
        ])
        return try RouteCatalog(version: version + 1, sortedRoutes: next, changed: i..<(i + 2), nextRouteID: nextRouteID)
    }

    /// Merges two adjacent routes (`left` directly before `right`) into one new route, served
    /// by `left`'s group.
    public func merging(_ left: RouteID, _ right: RouteID, into id: RouteID? = nil) throws(RouteCatalogError) -> RouteCatalog {
        guard let i = index(ofRoute: left) else { throw .unknownRoute(left) }
        guard let j = index(ofRoute: right) else { throw .unknownRoute(right) }
        guard j == i + 1 else { throw .notAdjacent(routes[i], routes[j]) }
        var next = routes
        next.replaceSubrange(i...j, with: [
            Route(id: id ?? nextRouteID, start: routes[i].start, end: routes[j].end, group: routes[i].group),
        ])
        return try RouteCatalog(version: version + 1, sortedRoutes: next, changed: i..<(i + 1), nextRouteID: nextRouteID)
    }

    /// Adds a route that must join the catalog's first or last route without a gap.
    public func adding(_ route: Route) throws(RouteCatalogError) -> RouteCatalog {
        try RouteCatalog(version: version + 1, routes: routes + [route], nextRouteID: nextRouteID)
    }

    /// Removes the first or the last route (removing one in the middle would leave a gap).
    public func removing(_ id: RouteID) throws(RouteCatalogError) -> RouteCatalog {
        guard let i = index(ofRoute: id) else { throw .unknownRoute(id) }
        guard routes.count > 1 else { throw .empty }
        guard i == 0 || i == routes.count - 1 else { throw .removalWouldLeaveGap(routes[i]) }
        var next = routes
        next.remove(at: i)
        return try RouteCatalog(version: version + 1, sortedRoutes: next, changed: 0..<0, nextRouteID: nextRouteID)
    }

    // MARK: validation

    private static func validate(_ sorted: [Route]) throws(RouteCatalogError) {
        guard !sorted.isEmpty else { throw .empty }
        var seen = Set<RouteID>()
        seen.reserveCapacity(sorted.count)
        for r in sorted {
            try check(r)
            guard seen.insert(r.id).inserted else { throw .duplicateID(r.id) }
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) { try checkSeam(a, b) }
    }

    /// One route on its own: an id in range and a non-empty key range.
    private static func check(_ r: Route) throws(RouteCatalogError) {
        guard r.id < RouteID.limit else { throw .reservedID(r.id) }
        if !r.end.isEmpty && !r.start.lexicographicallyPrecedes(r.end) { throw .emptyRange(r) }
    }

    /// Two neighbours in key order: `a` ends exactly where `b` starts.
    private static func checkSeam(_ a: Route, _ b: Route) throws(RouteCatalogError) {
        if a.end.isEmpty || b.start.lexicographicallyPrecedes(a.end) { throw .overlap(a, b) }
        if a.end != b.start { throw .gap(a, b) }
    }

    private static func pow10(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<n { v *= 10 }
        return v
    }

    private static func zeroPadded(_ v: Int, width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
