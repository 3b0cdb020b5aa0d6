public import KeyViz
import Synchronization

/// Routes keys to shard groups and serves reads and writes, telling a `Sampler` about every
/// user-facing one.
///
/// The sampling contract (from the read-observe change KeyViz ports, plus the gaps it closes):
/// - ``dispatch(_:)``: each mutation is observed once as `(route, .write, key, value)`
///   *before* anything is applied, so a write that then fails still counts (offered load).
/// - ``linearizableRead(forKey:)`` and ``leaseRead(forKey:)``: one route lookup gives route and
///   group; one `(route, .read, key, 0)` observation after the route is resolved, even when the
///   read then fails. These check consistency and fetch no value.
/// - ``get(key:)``: a data read; observed once with the real value length.
/// - ``isLeader(forKey:)``, ``verifyLeader(forKey:)``, ``raftLeader(forKey:)``: routing
///   checks, never observed.
/// - Operations are sampled by the node that serves them (the seed: "reads are sampled by the
///   node that actually serves the read", observed once the route's group resolves). A key
///   whose route belongs to a group not configured on this node is an
///   ``ShardKVError/unknownGroup(_:)`` error and is *not* observed: the node that serves that
///   group counts it.
/// - A key with no route is an error for the caller and is observed with
///   `RouteID/unrouted`, which samplers count as unrouted (an extension: no node serves it,
///   so this one says so).
///
/// Route changes go through the coordinator (``split(at:)``, ``merge(_:_:)``,
/// ``addRoute(start:end:group:)``, ``removeRoute(_:)``) so data and catalog agree: a split keeps
/// both halves on the route's group, a merge joins only routes of one group (as a real system
/// first moves a range's replicas next to its neighbour's), so no change moves a key to a store
/// that lacks it; removing a route drops its data from the group's store.
///
/// Every observation uses the key-carrying form (`observe(route:op:key:valueLength:)`), so a
/// hot-key sampler in the chain sees keys; samplers that only count get the lengths.
///
/// With no sampler (`nil`), sampling costs one branch.
public final class ShardedCoordinator: Sendable {
    public let engine: RouteEngine
    private let groups: [ShardGroupID: ShardGroup]
    private let sampler: (any Sampler)?
    private let clock = Atomic<UInt64>(0)

    /// Builds a coordinator and registers `sampler` (the outermost of a chain; each decorator
    /// forwards the catalog inwards) with the engine, so every layer learns the catalog before
    /// the first observation.
    public init(engine: RouteEngine, groups: [ShardGroup], sampler: (any Sampler)?) {
        self.engine = engine
        self.groups = Dictionary(uniqueKeysWithValues: groups.map { ($0.id, $0) })
        self.sampler = sampler
        if let sampler { engine.addObserver(sampler) }
    }

    public func group(_ id: ShardGroupID) -> ShardGroup? { groups[id] }

    /// The groups this node serves, by id.
    public var groupIDs: [ShardGroupID] { groups.keys.sorted() }

    // MARK: writes

    /// Applies a batch of mutations and returns its commit timestamp.
    ///
    /// Every mutation is observed exactly once before any is applied. Throws, applying
    /// nothing, when a key has no route, its group is unknown, or this node does not lead it.
    @discardableResult
    public func dispatch(_ mutations: [Mutation]) throws(ShardKVError) -> UInt64 {
        var resolved: [(Mutation, ShardGroup?)] = []
        resolved.reserveCapacity(mutations.count)
        var failure: ShardKVError?
        for m in mutations {
            guard let placement = engine.placement(forKey: m.key) else {
                sampler?.observe(route: .unrouted, op: .write, key: m.key, valueLength: m.valueLength)
                failure = failure ?? .noRoute(key: m.key)
                resolved.append((m, nil))
                continue
            }
            guard let g = groups[placement.group] else {
                failure = failure ?? .unknownGroup(placement.group)
                resolved.append((m, nil))
                continue
            }
            sampler?.observe(route: placement.route, op: .write, key: m.key, valueLength: m.valueLength)
            resolved.append((m, g))
        }
        if let failure { throw failure }
        for (_, g) in resolved { try g!.verifyLeader() }
        let ts = nextTimestamp()
        for (m, g) in resolved {
            switch m {
            case .put(let key, let value): g!.store.put(key, value, at: ts)
            case .delete(let key): g!.store.delete(key, at: ts)
            }
        }
        return ts
    }

    // MARK: consistency reads (observed, no value)

    /// Confirms this node may serve a linearizable read of `key` and returns the read timestamp.
    @discardableResult
    public func linearizableRead(forKey key: [UInt8]) throws(ShardKVError) -> UInt64 {
        let g = try routeAndObserveRead(key)
        try g.verifyLeader()
        return currentTimestamp()
    }

    /// Confirms this node holds a valid lease for `key`'s group and returns the read timestamp.
    @discardableResult
    public func leaseRead(forKey key: [UInt8]) throws(ShardKVError) -> UInt64 {
        let g = try routeAndObserveRead(key)
        try g.verifyLease()
        return currentTimestamp()
    }

    // MARK: data read (observed with the value length)

    /// Reads the newest value of `key` under a lease. Observed once with the value's length
    /// (0 when the key is absent or the read fails).
    public func get(key: [UInt8]) throws(ShardKVError) -> [UInt8]? {
        let (route, g) = try resolveRead(key)
        var valueLength = 0
        defer { sampler?.observe(route: route, op: .read, key: key, valueLength: valueLength) }
        try g.verifyLease()
        let value = g.store.get(key, at: currentTimestamp())
        valueLength = value?.count ?? 0
        return value
    }

    // MARK: routing checks (never observed)

    public func isLeader(forKey key: [UInt8]) -> Bool {
        guard let p = engine.placement(forKey: key), let g = groups[p.group] else { return false }
        return g.isLeader
    }

    public func verifyLeader(forKey key: [UInt8]) throws(ShardKVError) {
        try groupForKey(key).verifyLeader()
    }

    /// The group that leads `key`'s route when this node is its leader, else nil.
    public func raftLeader(forKey key: [UInt8]) -> ShardGroupID? {
        guard let p = engine.placement(forKey: key), let g = groups[p.group], g.isLeader else { return nil }
        return g.id
    }

    // MARK: route changes

    /// Splits the route holding `key` at `key`; both halves stay on its group. Returns the new
    /// catalog.
    @discardableResult
    public func split(at key: [UInt8]) throws(ShardKVError) -> RouteCatalog {
        try engine.update { (c: RouteCatalog) throws(ShardKVError) -> RouteCatalog in
            guard let r = c.route(forKey: key) else { throw .routeChange(.splitKeyOutsideRoute(c.routes[0], key: key)) }
            return try catalogChange { () throws(RouteCatalogError) in try c.splitting(r.id, at: key) }
        }
    }

    /// Merges two adjacent routes of one group; returns the new catalog. Routes of different
    /// groups are refused (``ShardKVError/mergeAcrossGroups(left:leftGroup:right:rightGroup:)``):
    /// the right one's data lives in another group's store.
    @discardableResult
    public func merge(_ left: RouteID, _ right: RouteID) throws(ShardKVError) -> RouteCatalog {
        try engine.update { (c: RouteCatalog) throws(ShardKVError) -> RouteCatalog in
            if let l = c.route(id: left), let r = c.route(id: right), l.group != r.group {
                throw .mergeAcrossGroups(left: left, leftGroup: l.group, right: right, rightGroup: r.group)
            }
            return try catalogChange { () throws(RouteCatalogError) in try c.merging(left, right) }
        }
    }

    /// Adds a route `[start, end)` on `group` (a group of this node) that joins the catalog's
    /// first or last route; its store holds nothing of that range yet. Returns the new catalog.
    @discardableResult
    public func addRoute(start: [UInt8], end: [UInt8], group: ShardGroupID) throws(ShardKVError) -> RouteCatalog {
        guard groups[group] != nil else { throw .unknownGroup(group) }
        return try engine.update { (c: RouteCatalog) throws(ShardKVError) -> RouteCatalog in
            try catalogChange { () throws(RouteCatalogError) in
                try c.adding(Route(id: c.nextRouteID, start: start, end: end, group: group))
            }
        }
    }

    /// Removes the first or last route and drops its data from its group's store: the range
    /// leaves this store. Its keys have no route afterwards. Returns the new catalog.
    @discardableResult
    public func removeRoute(_ id: RouteID) throws(ShardKVError) -> RouteCatalog {
        var removed: Route?
        let next = try engine.update { (c: RouteCatalog) throws(ShardKVError) -> RouteCatalog in
            removed = c.route(id: id)
            return try catalogChange { () throws(RouteCatalogError) in try c.removing(id) }
        }
        if let r = removed { groups[r.group]?.store.removeRange(start: r.start, end: r.end) }
        return next
    }

    /// A catalog operation, its error as a ``ShardKVError``.
    private func catalogChange(_ body: () throws(RouteCatalogError) -> RouteCatalog) throws(ShardKVError) -> RouteCatalog {
        do {
            return try body()
        } catch {
            throw .routeChange(error)
        }
    }

    // MARK: helpers

    private func groupForKey(_ key: [UInt8]) throws(ShardKVError) -> ShardGroup {
        try routeAndGroup(key).1
    }

    /// One route lookup for both the route id and the group; throws for no route or a group
    /// this node does not serve.
    private func routeAndGroup(_ key: [UInt8]) throws(ShardKVError) -> (RouteID, ShardGroup) {
        guard let p = engine.placement(forKey: key) else { throw .noRoute(key: key) }
        guard let g = groups[p.group] else { throw .unknownGroup(p.group) }
        return (p.route, g)
    }

    /// Resolves a read's route and group. A key with no route is observed as unrouted before
    /// the error; a group of another node is not observed (that node serves it).
    private func resolveRead(_ key: [UInt8]) throws(ShardKVError) -> (RouteID, ShardGroup) {
        do {
            return try routeAndGroup(key)
        } catch {
            if case .noRoute = error {
                sampler?.observe(route: .unrouted, op: .read, key: key, valueLength: 0)
            }
            throw error
        }
    }

    /// A consistency read: observed once (value length 0) as soon as the route resolves here.
    private func routeAndObserveRead(_ key: [UInt8]) throws(ShardKVError) -> ShardGroup {
        let (route, g) = try resolveRead(key)
        sampler?.observe(route: route, op: .read, key: key, valueLength: 0)
        return g
    }

    private func nextTimestamp() -> UInt64 { clock.wrappingAdd(1, ordering: .relaxed).newValue }
    private func currentTimestamp() -> UInt64 { clock.load(ordering: .relaxed) }
}
