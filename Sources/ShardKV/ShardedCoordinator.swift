import KeyViz
import Synchronization

/// Routes keys to shard groups and serves reads and writes, telling a ``Sampler`` about every
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
/// - A key with no route is an error for the caller and is observed with
///   ``RouteID/unrouted``, which samplers count as unrouted.
///
/// With no sampler (`nil`), sampling costs one branch.
public final class ShardedCoordinator: Sendable {
    public let engine: RouteEngine
    private let groups: [ShardGroupID: ShardGroup]
    private let sampler: (any Sampler)?
    private let clock = Atomic<UInt64>(0)

    /// Builds a coordinator. A sampler that is also a ``RouteCatalogObserver`` is registered
    /// with the engine, and so learns the catalog before the first observation.
    public init(engine: RouteEngine, groups: [ShardGroup], sampler: (any Sampler)?) {
        self.engine = engine
        self.groups = Dictionary(uniqueKeysWithValues: groups.map { ($0.id, $0) })
        self.sampler = sampler
        if let observer = sampler as? any RouteCatalogObserver {
            engine.addObserver(observer)
        }
    }

    public func group(_ id: ShardGroupID) -> ShardGroup? { groups[id] }

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
            let route = engine.route(forKey: m.key)
            sampler?.observe(route: route?.id ?? .unrouted, op: .write, keyLength: m.key.count, valueLength: m.valueLength)
            guard let route else {
                failure = failure ?? .noRoute(key: m.key)
                resolved.append((m, nil))
                continue
            }
            let g = groups[route.group]
            if g == nil { failure = failure ?? .unknownGroup(route.group) }
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
        let route = engine.route(forKey: key)
        var valueLength = 0
        defer { sampler?.observe(route: route?.id ?? .unrouted, op: .read, keyLength: key.count, valueLength: valueLength) }
        guard let route else { throw .noRoute(key: key) }
        guard let g = groups[route.group] else { throw .unknownGroup(route.group) }
        try g.verifyLease()
        let value = g.store.get(key, at: currentTimestamp())
        valueLength = value?.count ?? 0
        return value
    }

    // MARK: routing checks (never observed)

    public func isLeader(forKey key: [UInt8]) -> Bool {
        guard let route = engine.route(forKey: key), let g = groups[route.group] else { return false }
        return g.isLeader
    }

    public func verifyLeader(forKey key: [UInt8]) throws(ShardKVError) {
        try groupForKey(key).verifyLeader()
    }

    /// The group that leads `key`'s route when this node is its leader, else nil.
    public func raftLeader(forKey key: [UInt8]) -> ShardGroupID? {
        guard let route = engine.route(forKey: key), let g = groups[route.group], g.isLeader else { return nil }
        return g.id
    }

    // MARK: route changes

    /// Splits the route holding `key` at `key`; returns the new catalog.
    @discardableResult
    public func split(at key: [UInt8]) throws(RouteCatalogError) -> RouteCatalog {
        try engine.update { (c: RouteCatalog) throws(RouteCatalogError) -> RouteCatalog in
            guard let r = c.route(forKey: key) else { throw .splitKeyOutsideRoute(c.routes[0], key: key) }
            return try c.splitting(r.id, at: key)
        }
    }

    /// Merges two adjacent routes; returns the new catalog.
    @discardableResult
    public func merge(_ left: RouteID, _ right: RouteID) throws(RouteCatalogError) -> RouteCatalog {
        try engine.update { (c: RouteCatalog) throws(RouteCatalogError) -> RouteCatalog in try c.merging(left, right) }
    }

    // MARK: helpers

    private func groupForKey(_ key: [UInt8]) throws(ShardKVError) -> ShardGroup {
        guard let route = engine.route(forKey: key) else { throw .noRoute(key: key) }
        guard let g = groups[route.group] else { throw .unknownGroup(route.group) }
        return g
    }

    /// One route lookup for both the observation and the group.
    private func routeAndObserveRead(_ key: [UInt8]) throws(ShardKVError) -> ShardGroup {
        let route = engine.route(forKey: key)
        sampler?.observe(route: route?.id ?? .unrouted, op: .read, keyLength: key.count, valueLength: 0)
        guard let route else { throw .noRoute(key: key) }
        guard let g = groups[route.group] else { throw .unknownGroup(route.group) }
        return g
    }

    private func nextTimestamp() -> UInt64 { clock.wrappingAdd(1, ordering: .relaxed).newValue }
    private func currentTimestamp() -> UInt64 { clock.load(ordering: .relaxed) }
}
