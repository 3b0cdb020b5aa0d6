import KeyViz
import KeyVizTestKit
import ShardKV
import Testing

private func k(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A coordinator over two routes: ["", "m") on group 1 and ["m", +inf) on group 2.
private func makeCoordinator(sampler: (any Sampler)?, now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds) throws -> (ShardedCoordinator, [ShardGroup]) {
    let catalog = try RouteCatalog(routes: [
        Route(id: 10, start: [], end: k("m"), group: 1),
        Route(id: 20, start: k("m"), end: [], group: 2),
    ])
    let groups = [ShardGroup(id: 1, now: now), ShardGroup(id: 2, now: now)]
    return (ShardedCoordinator(engine: RouteEngine(catalog: catalog), groups: groups, sampler: sampler), groups)
}

@Suite struct CoordinatorSamplingTests {
    // Ported from the seed: TestShardedCoordinatorObservesLeaseAndLinearizableReads.
    @Test func leaseAndLinearizableReadsAreObservedOncePerCallWithZeroValueLength() throws {
        let rec = RecordingSampler()
        let (c, _) = try makeCoordinator(sampler: rec)
        try c.linearizableRead(forKey: k("hot-key"))
        try c.leaseRead(forKey: k("hot-key"))
        #expect(rec.observations == [
            .init(route: 10, op: .read, keyLength: 7, valueLength: 0),
            .init(route: 10, op: .read, keyLength: 7, valueLength: 0),
        ])
    }

    // Ported from the seed: TestShardedCoordinatorSkipsObserveForLeadershipChecks.
    @Test func leadershipChecksAreNeverObserved() throws {
        let rec = RecordingSampler()
        let (c, _) = try makeCoordinator(sampler: rec)
        #expect(c.isLeader(forKey: k("hot-key")))
        try c.verifyLeader(forKey: k("hot-key"))
        #expect(c.raftLeader(forKey: k("hot-key")) == 1)
        #expect(rec.observations.isEmpty)
    }

    @Test func readsThatFailStillCountOnce() throws {
        let rec = RecordingSampler()
        let (c, groups) = try makeCoordinator(sampler: rec)
        groups[1].setLeader(false)
        #expect(throws: ShardKVError.notLeader(2)) { try c.linearizableRead(forKey: k("zebra")) }
        groups[1].setLeader(true)
        groups[1].setLease(untilMs: 0)
        #expect(throws: ShardKVError.leaseExpired(2)) { try c.leaseRead(forKey: k("zebra")) }
        #expect(rec.observations == [
            .init(route: 20, op: .read, keyLength: 5, valueLength: 0),
            .init(route: 20, op: .read, keyLength: 5, valueLength: 0),
        ])
    }

    @Test func writesAreObservedOncePerMutationWithKeyAndValueLengths() throws {
        let rec = RecordingSampler()
        let (c, groups) = try makeCoordinator(sampler: rec)
        try c.dispatch([.put(key: k("apple"), value: Array(repeating: 1, count: 100)), .delete(key: k("pear")), .put(key: k("fig"), value: [])])
        #expect(rec.observations == [
            .init(route: 10, op: .write, keyLength: 5, valueLength: 100),
            .init(route: 20, op: .write, keyLength: 4, valueLength: 0),
            .init(route: 10, op: .write, keyLength: 3, valueLength: 0),
        ])
        #expect(groups[0].store.keyCount == 2)
    }

    @Test func failedWritesStillCountOnceAndApplyNothing() throws {
        let rec = RecordingSampler()
        let (c, groups) = try makeCoordinator(sampler: rec)
        groups[1].setLeader(false)
        #expect(throws: ShardKVError.notLeader(2)) {
            try c.dispatch([.put(key: k("apple"), value: [1, 2]), .put(key: k("zoo"), value: [3])])
        }
        #expect(rec.observations == [
            .init(route: 10, op: .write, keyLength: 5, valueLength: 2),
            .init(route: 20, op: .write, keyLength: 3, valueLength: 1),
        ])
        #expect(groups[0].store.keyCount == 0)
    }

    @Test func getObservesTheRealValueLength() throws {
        let rec = RecordingSampler()
        let (c, _) = try makeCoordinator(sampler: rec)
        try c.dispatch([.put(key: k("zeta"), value: Array(repeating: 7, count: 321))])
        rec.reset()
        #expect(try c.get(key: k("zeta"))?.count == 321)
        #expect(try c.get(key: k("absent")) == nil)
        #expect(rec.observations == [
            .init(route: 20, op: .read, keyLength: 4, valueLength: 321),
            .init(route: 10, op: .read, keyLength: 6, valueLength: 0),
        ])
    }

    @Test func aKeyWithNoRouteIsAnErrorAndAnUnroutedObservation() throws {
        let rec = RecordingSampler()
        let catalog = try RouteCatalog(routes: [Route(id: 1, start: k("b"), end: k("y"), group: 1)])
        let c = ShardedCoordinator(engine: RouteEngine(catalog: catalog), groups: [ShardGroup(id: 1)], sampler: rec)
        #expect(throws: ShardKVError.noRoute(key: k("a"))) { try c.leaseRead(forKey: k("a")) }
        #expect(throws: ShardKVError.noRoute(key: k("z"))) { try c.dispatch([.put(key: k("z"), value: [1])]) }
        #expect(throws: ShardKVError.noRoute(key: k("zz"))) { try c.get(key: k("zz")) }
        #expect(rec.observations.map(\.route) == [.unrouted, .unrouted, .unrouted])
        #expect(rec.observations.map(\.op) == [.read, .write, .read])
    }

    // The seed samples an operation on the node that serves it: a group this node does not
    // have is an error and no observation (that node counts it).
    @Test func operationsOnAGroupOfAnotherNodeAreErrorsAndNotObserved() throws {
        let rec = RecordingSampler()
        let catalog = try RouteCatalog(routes: [
            Route(id: 10, start: [], end: k("m"), group: 1),
            Route(id: 20, start: k("m"), end: [], group: 7),   // group 7 lives elsewhere
        ])
        let c = ShardedCoordinator(engine: RouteEngine(catalog: catalog), groups: [ShardGroup(id: 1)], sampler: rec)
        #expect(throws: ShardKVError.unknownGroup(7)) { try c.linearizableRead(forKey: k("zebra")) }
        #expect(throws: ShardKVError.unknownGroup(7)) { try c.leaseRead(forKey: k("zebra")) }
        #expect(throws: ShardKVError.unknownGroup(7)) { try c.get(key: k("zebra")) }
        #expect(throws: ShardKVError.unknownGroup(7)) { try c.dispatch([.put(key: k("zebra"), value: [1])]) }
        #expect(rec.observations.isEmpty)
        // In a mixed batch the served mutation is still offered load; nothing is applied.
        #expect(throws: ShardKVError.unknownGroup(7)) {
            try c.dispatch([.put(key: k("apple"), value: [1]), .put(key: k("zebra"), value: [2])])
        }
        #expect(rec.observations == [.init(route: 10, op: .write, keyLength: 5, valueLength: 1)])
        #expect(c.group(1)!.store.keyCount == 0)
    }

    @Test func leadershipChecksOnAnotherNodesGroupAreFalseAndUnobserved() throws {
        let rec = RecordingSampler()
        let catalog = try RouteCatalog(routes: [Route(id: 10, start: [], end: [], group: 7)])
        let c = ShardedCoordinator(engine: RouteEngine(catalog: catalog), groups: [ShardGroup(id: 1)], sampler: rec)
        #expect(!c.isLeader(forKey: k("a")))
        #expect(c.raftLeader(forKey: k("a")) == nil)
        #expect(throws: ShardKVError.unknownGroup(7)) { try c.verifyLeader(forKey: k("a")) }
        #expect(rec.observations.isEmpty)
    }

    @Test func everyObservationCarriesItsKeyForHotKeySampling() throws {
        let rec = RecordingSampler()
        let (c, _) = try makeCoordinator(sampler: rec)
        try c.dispatch([.put(key: k("apple"), value: [1]), .delete(key: k("zoo"))])
        _ = try c.get(key: k("apple"))
        try c.leaseRead(forKey: k("fig"))
        try c.linearizableRead(forKey: k("yak"))
        #expect(rec.observedKeys == [k("apple"), k("zoo"), k("apple"), k("fig"), k("yak")])
        #expect(rec.observations.count == 5)
    }

    @Test func aNilSamplerServesReadsAndWrites() throws {
        let (c, _) = try makeCoordinator(sampler: nil)
        try c.dispatch([.put(key: k("a"), value: [1])])
        #expect(try c.get(key: k("a")) == [1])
    }

    @Test func mvccReadsSeeTheVersionAtTheirTimestamp() throws {
        let store = MVCCStore()
        store.put(k("x"), [1], at: 5)
        store.put(k("x"), [2], at: 9)
        store.delete(k("x"), at: 12)
        #expect(store.get(k("x"), at: 4) == nil)
        #expect(store.get(k("x"), at: 5) == [1])
        #expect(store.get(k("x"), at: 11) == [2])
        #expect(store.get(k("x"), at: 12) == nil)
    }

    @Test func samplersLearnANewCatalogBeforeItIsPublished() throws {
        final class Probe: Sampler {
            let engine: RouteEngine
            let seen = RecordingSampler()
            init(engine: RouteEngine) { self.engine = engine }
            func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int) {}
            func apply(_ catalog: RouteCatalog) {
                // Record the version still published while we are being told.
                seen.observe(route: RouteID(engine.catalog.version), op: .read, keyLength: Int(catalog.version), valueLength: 0)
            }
        }
        let engine = RouteEngine(catalog: RouteCatalog.evenlySplit(count: 2, groups: 1))
        let probe = Probe(engine: engine)
        let c = ShardedCoordinator(engine: engine, groups: [ShardGroup(id: 1)], sampler: probe)
        try c.split(at: k("key/1"))
        let told = probe.seen.observations.map { ($0.route, $0.keyLength) }
        #expect(told.count == 2)
        #expect(told[1].0 == 1 && told[1].1 == 2)   // told of v2 while v1 was still published
        #expect(engine.catalog.version == 2)
    }

    @Test func aRejectedRouteChangePublishesNothing() throws {
        let rec = RecordingSampler()
        let (c, _) = try makeCoordinator(sampler: rec)
        let before = c.engine.catalog
        #expect(throws: ShardKVError.routeChange(.unknownRoute(99))) { try c.merge(10, 99) }
        #expect(throws: ShardKVError.self) { try c.split(at: k("m")) }
        #expect(throws: ShardKVError.mergeAcrossGroups(left: 10, leftGroup: 1, right: 20, rightGroup: 2)) { try c.merge(10, 20) }
        #expect(c.engine.catalog == before)
        #expect(rec.appliedCatalogs == [before])
    }

    @Test func splitsAndMergesWhileTrafficFlowsKeepEveryObservationInTheMatrix() async throws {
        // A grace window longer than the test: a thread that resolved a route just before it was
        // split still finds it mapped, so nothing becomes unrouted.
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1, historyColumns: 100_000, graceMilliseconds: 60_000))
        let engine = RouteEngine(catalog: RouteCatalog.evenlySplit(count: 8, groups: 2))
        let c = ShardedCoordinator(engine: engine, groups: [ShardGroup(id: 1), ShardGroup(id: 2)], sampler: s)
        let perThread = 20_000
        let worker: @Sendable (Int) -> Void = { seed in
            for i in 0..<perThread {
                let key = Array("key/\(String((i * 7919 + seed * 13) % 100_000_000))".utf8)
                if i % 2 == 0 { _ = try? c.dispatch([.put(key: key, value: [1, 2, 3])]) } else { _ = try? c.get(key: key) }
            }
        }
        let churn: @Sendable () -> Void = {
            for i in 0..<200 {
                let cat = engine.catalog
                if i % 2 == 0 {
                    _ = try? c.split(at: Array("key/\(String(10_000_000 + i * 350_000))".utf8))
                } else if let i = cat.routes.indices.dropLast().first(where: { cat.routes[$0].group == cat.routes[$0 + 1].group }) {
                    _ = try? c.merge(cat.routes[i].id, cat.routes[i + 1].id)
                }
                s.flush()
            }
        }
        await ConcurrentRunner.run([{ worker(1) }, { worker(2) }, churn])
        s.flush()
        let totals = s.flushedTotals
        #expect(totals.routed.writes + totals.unrouted.writes == UInt64(perThread))
        #expect(totals.routed.reads + totals.unrouted.reads == UInt64(perThread))
        #expect(totals.unrouted.operations == 0)   // every key has a route in these catalogs
    }
}

@Suite struct MVCCStoreTests {
    @Test func aHotKeyKeepsOnlyItsNewestVersions() {
        let store = MVCCStore(retainedVersions: 4)
        let key = Array("hot".utf8)
        for ts in 1...1000 { store.put(key, [UInt8(ts % 256)], at: UInt64(ts)) }
        #expect(store.get(key, at: 1000) == [UInt8(1000 % 256)])
        #expect(store.get(key, at: 997) == [UInt8(997 % 256)])
        #expect(store.get(key, at: 996) == nil)   // collected
    }

    @Test func outOfOrderWritesAreReadInTimestampOrder() {
        let store = MVCCStore()
        let key = Array("k".utf8)
        store.put(key, [2], at: 20)
        store.put(key, [1], at: 10)
        #expect(store.get(key, at: 15) == [1])
        #expect(store.get(key, at: 25) == [2])
    }
}
