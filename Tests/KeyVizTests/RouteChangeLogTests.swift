import KeyViz
import KeyVizTestKit
import Testing

private func k(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct RouteChangeLogTests {
    @Test func splitMergeAddRemoveSequenceProducesExactlyTheExpectedEvents() throws {
        let clock = ManualClock()
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, now: clock.function))
        let c1 = try RouteCatalog(routes: [Route(id: 1, start: [], end: k("m"), group: 1),
                                           Route(id: 2, start: k("m"), end: k("t"), group: 1)])
        s.apply(c1)
        #expect(s.routeChanges.events().isEmpty, "the first catalog is the starting state")
        s.apply(c1)
        #expect(s.routeChanges.events().isEmpty, "re-applying a catalog changes nothing")

        clock.advance(10)
        let c2 = try c1.splitting(1, at: k("f"), leftID: 3, rightID: 4)
        s.apply(c2)
        clock.advance(10)
        let c3 = try c2.merging(4, 2, into: 5)
        s.apply(c3)
        clock.advance(10)
        let c4 = try c3.adding(Route(id: 6, start: k("t"), end: [], group: 2))
        s.apply(c4)
        clock.advance(10)
        let c5 = try c4.removing(3)
        s.apply(c5)

        let t0 = clock.now - 40
        let events = s.routeChanges.events()
        #expect(events.map(\.kind) == [.split, .merge, .add, .remove])
        #expect(events.map(\.unixMs) == [t0 + 10, t0 + 20, t0 + 30, t0 + 40])
        #expect(events.map(\.catalogVersion) == [2, 3, 4, 5])
        #expect(events[0].before.map(\.id) == [1] && events[0].after.map(\.id) == [3, 4])
        #expect(events[0].after.map(\.end) == [k("f"), k("m")])
        #expect(events[1].before.map(\.id) == [4, 2] && events[1].after.map(\.id) == [5])
        #expect(events[1].after[0].start == k("f") && events[1].after[0].end == k("t"))
        #expect(events[2].before.isEmpty && events[2].after.map(\.id) == [6])
        #expect(events[3].before.map(\.id) == [3] && events[3].after.isEmpty)
        #expect(s.routeChanges.droppedCount == 0)
        // The range query is [from, to).
        #expect(s.routeChanges.events(fromUnixMs: t0 + 20, toUnixMs: t0 + 40).map(\.kind) == [.merge, .add])
    }

    @Test func independentChangesInOneCatalogAreSeparateEventsAndAMovedBoundaryIsAReshape() throws {
        let c1 = RouteCatalog.evenlySplit(count: 4, groups: 1, prefix: "k", width: 2)   // ends k25 k50 k75
        // Route 1 split, route 4 split: two events in one apply.
        let c2 = try c1.splitting(1, at: k("k10"), leftID: 10, rightID: 11).splitting(4, at: k("k90"), leftID: 12, rightID: 13)
        let log = RouteChangeLog()
        log.record(from: c1, to: c2, atUnixMs: 5)
        #expect(log.events().map(\.kind) == [.split, .split])
        #expect(log.events().map { $0.before.map(\.id) } == [[1], [4]])
        // Moving the boundary between routes 2 and 3 keeps the ids but changes both ranges.
        let r = c1.routes
        let moved = try RouteCatalog(version: 9, routes: [r[0], Route(id: 2, start: r[1].start, end: k("k60"), group: 1),
                                                          Route(id: 3, start: k("k60"), end: r[2].end, group: 1), r[3]])
        let log2 = RouteChangeLog()
        log2.record(from: c1, to: moved, atUnixMs: 7)
        let e = log2.events()
        #expect(e.map(\.kind) == [.reshape])
        #expect(e.first?.before.map(\.id) == [2, 3] && e.first?.after.map(\.id) == [2, 3])
        // Same ranges under a new version (a group move): no event.
        let regrouped = try RouteCatalog(version: 10, routes: r.map { Route(id: $0.id, start: $0.start, end: $0.end, group: 7) })
        log2.record(from: c1, to: regrouped, atUnixMs: 8)
        #expect(log2.events().count == 1)
    }

    @Test func theCapHoldsAndDroppedEventsAreCounted() throws {
        let log = RouteChangeLog(capacity: 5)
        var catalog = RouteCatalog.evenlySplit(count: 2, groups: 1)
        for t in 0..<12 {
            let next = t % 2 == 0 ? try catalog.splitting(catalog.routes[0].id, at: k("key/0001")) : try catalog.merging(catalog.routes[0].id, catalog.routes[1].id)
            log.record(from: catalog, to: next, atUnixMs: Int64(t))
            catalog = next
        }
        let events = log.events()
        #expect(events.count == 5)
        #expect(events.map(\.unixMs) == [7, 8, 9, 10, 11], "the newest are kept, oldest first")
        #expect(log.droppedCount == 7)
        #expect(RouteChangeLog(capacity: 0).capacity == 1)
    }

    @Test func theSamplerKeepsAsManyRouteChangesAsItsConfigurationSays() throws {
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1000, routeChangeEvents: 3))
        #expect(s.routeChanges.capacity == 3)
        var catalog = RouteCatalog.evenlySplit(count: 2, groups: 1)
        s.apply(catalog)
        for t in 0..<8 {
            catalog = t % 2 == 0 ? try catalog.splitting(catalog.routes[0].id, at: k("key/0001")) : try catalog.merging(catalog.routes[0].id, catalog.routes[1].id)
            s.apply(catalog)
        }
        #expect(s.routeChanges.events().map(\.kind) == [.merge, .split, .merge], "the newest three, oldest first")
        #expect(s.routeChanges.droppedCount == 5)
        // Out of range is clamped where the ring is made: a sampler always keeps at least one.
        #expect(HeatMatrixSampler(configuration: .init(routeChangeEvents: 0)).routeChanges.capacity == 1)
        #expect(HeatMatrixSampler(configuration: .init(routeChangeEvents: .max)).routeChanges.capacity == 1_000_000)
        #expect(HeatMatrixSampler().routeChanges.capacity == RouteChangeLog.defaultCapacity)
    }

    @Test func aWholesaleReplacementListsAtMostTheCapPerSideWithTheTrueCounts() throws {
        let c1 = RouteCatalog.evenlySplit(count: 200, groups: 1)
        let c2 = try RouteCatalog(version: 2, routes: [Route(id: 999, start: [], end: [], group: 1)])
        let log = RouteChangeLog()
        log.record(from: c1, to: c2, atUnixMs: 1)
        let e = try #require(log.events().first)
        #expect(e.kind == .merge || e.kind == .reshape)
        #expect(e.before.count == RouteChangeEvent.maxListedRoutes && e.beforeCount == 200 && e.afterCount == 1)
    }

    @Test func randomChurnEventsReplayTheCatalogChanges() throws {
        // Every split/merge made through the catalog API is reported as exactly that.
        var rng = SplitMix64(seed: 42)
        var catalog = RouteCatalog.evenlySplit(count: 8, groups: 1, prefix: "k", width: 6)
        let log = RouteChangeLog(capacity: 10_000)
        var expected: [RouteChangeEvent.Kind] = []
        for t in 0..<500 {
            let next: RouteCatalog
            if rng.next() % 2 == 0 || catalog.routes.count < 2 {
                let key = Array("k\(100_000 + Int(rng.next() % 900_000))".utf8)
                guard let r = catalog.route(forKey: key), r.start != key else { continue }
                next = try catalog.splitting(r.id, at: key)
                expected.append(.split)
            } else {
                let i = Int(rng.next() % UInt64(catalog.routes.count - 1))
                next = try catalog.merging(catalog.routes[i].id, catalog.routes[i + 1].id)
                expected.append(.merge)
            }
            log.record(from: catalog, to: next, atUnixMs: Int64(t))
            catalog = next
        }
        #expect(log.events().map(\.kind) == expected)
    }
}
