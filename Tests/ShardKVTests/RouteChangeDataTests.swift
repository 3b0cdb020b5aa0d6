import Foundation
import KeyViz
import KeyVizTestKit
import ShardKV
import Synchronization
import Testing

/// Route changes never lose an acknowledged write: random sequences of writes, deletes,
/// splits, merges, removals, re-additions and reads, checked against a plain dictionary after
/// every step. A failing run prints its seed; replay one with KEYVIZ_DATA_SEED=<seed>.
@Suite struct RouteChangeDataTests {
    private static let groupCount = 3

    /// What the store must hold: the newest value of every key whose route still exists.
    private struct Model {
        var values: [[UInt8]: [UInt8]] = [:]
    }

    private static func key(_ n: UInt64) -> [UInt8] { Workload.key(n % 1_000 * 100_000) }

    @Test func everyAcknowledgedWriteSurvivesAnySequenceOfRouteChanges() throws {
        let env = ProcessInfo.processInfo.environment
        let seeds: [UInt64] = env["KEYVIZ_DATA_SEED"].flatMap(UInt64.init).map { [$0] }
            ?? Array(1...UInt64(env["KEYVIZ_DATA_SEQUENCES"].flatMap(Int.init) ?? 100))
        for seed in seeds {
            if let failure = Self.run(seed: seed, steps: 300) {
                Issue.record("seed \(seed): \(failure) (replay: KEYVIZ_DATA_SEED=\(seed) swift test --filter everyAcknowledgedWrite)")
                return
            }
        }
    }

    /// Runs one sequence; returns the first broken expectation, if any.
    private static func run(seed: UInt64, steps: Int) -> String? {
        var rng = SplitMix64(seed: seed)
        let groups = (1...groupCount).map { ShardGroup(id: ShardGroupID($0)) }
        let engine = RouteEngine(catalog: .evenlySplit(count: 4, groups: groupCount))
        let sampler = RecordingSampler()
        let c = ShardedCoordinator(engine: engine, groups: groups, sampler: sampler)
        var model = Model()
        for step in 0..<steps {
            let catalog = engine.catalog
            let routes = catalog.routes
            let roll = rng.next() % 100
            let k = key(rng.next())
            switch roll {
            case 0..<40:
                let value = [UInt8](repeating: UInt8(truncatingIfNeeded: step), count: Int(rng.next() % 16))
                do {
                    try c.dispatch([.put(key: k, value: value)])
                    model.values[k] = value
                } catch {
                    if catalog.route(forKey: k) != nil { return "step \(step): write of a routed key failed: \(error)" }
                }
            case 40..<45:
                if (try? c.dispatch([.delete(key: k)])) != nil { model.values[k] = nil }
            case 45..<65:
                _ = try? c.split(at: key(rng.next()))
            case 65..<85:
                guard routes.count > 1 else { break }
                let i = Int(rng.next() % UInt64(routes.count - 1))
                do {
                    try c.merge(routes[i].id, routes[i + 1].id)
                    if routes[i].group != routes[i + 1].group { return "step \(step): merged routes of two groups" }
                } catch ShardKVError.mergeAcrossGroups {
                    if routes[i].group == routes[i + 1].group { return "step \(step): refused a same-group merge" }
                } catch {
                    return "step \(step): merge failed: \(error)"
                }
            case 85..<90:
                // Remove the first or last route: its keys leave the store.
                let r = rng.next() & 1 == 0 ? routes.first! : routes.last!
                if (try? c.removeRoute(r.id)) != nil {
                    model.values = model.values.filter { !r.contains($0.key) }
                }
            case 90..<95:
                // Put a removed end back, on a random group.
                let g = ShardGroupID(rng.next() % UInt64(groupCount) + 1)
                if let first = routes.first, !first.start.isEmpty {
                    _ = try? c.addRoute(start: [], end: first.start, group: g)
                } else if let last = routes.last, !last.end.isEmpty {
                    _ = try? c.addRoute(start: last.end, end: [], group: g)
                }
            default:
                let got = try? c.get(key: k)
                if engine.catalog.route(forKey: k) != nil, got ?? nil != model.values[k] {
                    return "step \(step): read \(KeyPreview.render(k)) gave \(String(describing: got)), wrote \(String(describing: model.values[k]))"
                }
            }
            if let broken = check(c, engine: engine, groups: groups, model: model) { return "step \(step): \(broken)" }
        }
        return nil
    }

    /// Every modelled key reads back its newest value; no group holds a key outside its routes.
    private static func check(_ c: ShardedCoordinator, engine: RouteEngine, groups: [ShardGroup], model: Model) -> String? {
        let catalog = engine.catalog
        for (k, v) in model.values {
            guard catalog.route(forKey: k) != nil else { return "modelled key \(KeyPreview.render(k)) has no route" }
            guard let got = try? c.get(key: k), got == v else { return "lost the write of \(KeyPreview.render(k))" }
        }
        for g in groups {
            for k in g.store.keys {
                guard let r = catalog.route(forKey: k), r.group == g.id else {
                    return "group \(g.id) stores \(KeyPreview.render(k)), which is not in its routes"
                }
            }
        }
        return nil
    }

    @Test func aMergeAcrossGroupsIsRefusedAndChangesNothing() throws {
        let rec = RecordingSampler()
        let engine = RouteEngine(catalog: .evenlySplit(count: 2, groups: 2))
        let c = ShardedCoordinator(engine: engine, groups: [ShardGroup(id: 1), ShardGroup(id: 2)], sampler: rec)
        let before = engine.catalog
        try c.dispatch([.put(key: Workload.key(99_999_999), value: [7])])
        #expect(throws: ShardKVError.mergeAcrossGroups(left: 1, leftGroup: 1, right: 2, rightGroup: 2)) { try c.merge(1, 2) }
        #expect(engine.catalog == before)
        #expect(rec.appliedCatalogs == [before])
        #expect(try c.get(key: Workload.key(99_999_999)) == [7])
    }

    @Test func removingARouteDropsItsDataAndItsKeysBecomeUnrouted() throws {
        let rec = RecordingSampler()
        let engine = RouteEngine(catalog: .evenlySplit(count: 2, groups: 1))
        let c = ShardedCoordinator(engine: engine, groups: [ShardGroup(id: 1)], sampler: rec)
        let key = Workload.key(99_999_999)
        try c.dispatch([.put(key: key, value: [7]), .put(key: Workload.key(1), value: [1])])
        let last = engine.catalog.routes.last!
        try c.removeRoute(last.id)
        #expect(c.group(1)!.store.keyCount == 1)
        #expect(throws: ShardKVError.noRoute(key: key)) { try c.get(key: key) }
        try c.addRoute(start: last.start, end: [], group: 1)
        #expect(try c.get(key: key) == nil)
        #expect(throws: ShardKVError.unknownGroup(9)) { try c.addRoute(start: [], end: [], group: 9) }
    }

    @Test func followerAndExpiredLeaseFailWithoutASamplerToo() throws {
        let group = ShardGroup(id: 1, isLeader: false)
        let c = ShardedCoordinator(engine: RouteEngine(catalog: .evenlySplit(count: 2, groups: 1)), groups: [group], sampler: nil)
        #expect(throws: ShardKVError.notLeader(1)) { try c.dispatch([.put(key: Workload.key(1), value: [1])]) }
        #expect(throws: ShardKVError.notLeader(1)) { try c.get(key: Workload.key(1)) }
        #expect(!c.isLeader(forKey: Workload.key(1)))
        group.setLeader(true)
        group.setLease(untilMs: 0)
        #expect(throws: ShardKVError.leaseExpired(1)) { try c.leaseRead(forKey: Workload.key(1)) }
        try c.linearizableRead(forKey: Workload.key(1))
    }
}

/// Lookups take no lock and never see a released catalog: readers on every core while the
/// catalog changes thousands of times.
@Suite struct RouteEngineConcurrencyTests {
    @Test func lookupsDuringChangesAlwaysFindTheRouteThatHoldsTheKey() async throws {
        let engine = RouteEngine(catalog: .evenlySplit(count: 16, groups: 1))
        let c = ShardedCoordinator(engine: engine, groups: [ShardGroup(id: 1)], sampler: nil)
        let misses = Atomic<Int>(0)
        let lookups = Atomic<Int>(0)
        let changing = Atomic<Bool>(true)
        let reader: @Sendable (UInt64) -> Void = { seed in
            var rng = SplitMix64(seed: seed)
            var n = 0
            while changing.load(ordering: .relaxed) || n < 10_000 {
                let key = Workload.key(rng.next())
                // Every catalog here covers the whole key space, so a lookup must succeed.
                if let r = engine.route(forKey: key), r.contains(key) {} else { misses.wrappingAdd(1, ordering: .relaxed) }
                if engine.placement(forKey: key) == nil { misses.wrappingAdd(1, ordering: .relaxed) }
                n += 1
            }
            lookups.wrappingAdd(n, ordering: .relaxed)
        }
        let writer: @Sendable () -> Void = {
            var rng = SplitMix64(seed: 99)
            for _ in 0..<2_000 {
                let routes = engine.catalog.routes
                if rng.next() & 1 == 0 || routes.count < 4 {
                    _ = try? c.split(at: Workload.key(rng.next()))
                } else {
                    let i = Int(rng.next() % UInt64(routes.count - 1))
                    _ = try? c.merge(routes[i].id, routes[i + 1].id)
                }
            }
            changing.store(false, ordering: .relaxed)
        }
        await ConcurrentRunner.run([{ reader(1) }, { reader(2) }, writer])
        #expect(misses.load(ordering: .relaxed) == 0)
        #expect(lookups.load(ordering: .relaxed) >= 20_000)
        #expect(engine.catalog.version > 100)
    }
}
