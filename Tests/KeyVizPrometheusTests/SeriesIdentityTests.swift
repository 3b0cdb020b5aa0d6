import KeyViz
@testable import KeyVizPrometheus
import KeyVizTestKit
import Testing

/// The label sets alerts and dashboards key on must not move while routes split and merge:
/// every label of a series is a function of something that stays put (the bucket's start key,
/// the op, the rank), and whatever moves is a value.
@Suite struct SeriesIdentityTests {
    private func samples(_ p: PrometheusSampler<NoopSampler>, _ family: String) -> [ParsedSample] {
        TestExposition.samples(p.render(format: .prometheusText)).filter { $0.name == family }
    }

    @Test func eachBucketLabelKeepsOneInfoSeriesThroughSplitsAndMerges() throws {
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(bucketBudget: 16, processMetrics: false))
        var c = RouteCatalog.evenlySplit(count: 100, groups: 1)
        p.apply(c)
        var rng = SplitMix64(seed: 11)
        var infoByBucket: [String: Set<String>] = [:]
        var bucketsSeen = Set<String>()
        for step in 0..<400 {
            let x = rng.next()
            if x & 1 == 0 || c.routes.count < 60 {
                let key = Array("key/\(x % 100_000_000)".utf8)
                if let r = c.route(forKey: key), r.start != key { c = try c.splitting(r.id, at: key) }
            } else {
                let i = Int((x >> 8) % UInt64(c.routes.count - 1))
                c = try c.merging(c.routes[i].id, c.routes[i + 1].id)
            }
            p.apply(c)
            guard step % 4 == 0 else { continue }
            let text = p.render(format: .prometheusText)
            let all = TestExposition.samples(text)
            let infos = all.filter { $0.name == "keyviz_bucket_info" }
            for s in infos { infoByBucket[s.labels["bucket"]!, default: []].insert(s.rawLabels) }
            bucketsSeen.formUnion(infos.map { $0.labels["bucket"]! })
            // The route count moved into a value: it matches the layout, label for label.
            let layout = p.currentLayout()
            let routes = Dictionary(uniqueKeysWithValues: all.filter { $0.name == "keyviz_bucket_routes" }.map { ($0.labels["bucket"]!, Int($0.value)!) })
            #expect(routes == Dictionary(uniqueKeysWithValues: layout.buckets.map { ($0.label, $0.routeCount) }))
            #expect(routes.values.reduce(0, +) == c.routes.count)
        }
        #expect(bucketsSeen.count > 16)   // the churn did change the layout
        #expect(infoByBucket.values.allSatisfy { $0.count == 1 }, "\(infoByBucket.filter { $0.value.count > 1 })")
    }

    @Test func sortingByAxisThenBucketGivesKeyOrder() throws {
        // Keys chosen so that label spelling alone would sort wrongly: hex-spelled keys, a
        // long key whose truncated label ends in `~hash`, keys sharing a long prefix.
        let long = String(repeating: "p", count: 40)
        let keys: [[UInt8]] = [[0x00, 0x01], Array("(paren".utf8), Array("0xnot-hex".utf8), Array("A".utf8), Array((long + "a").utf8),
                               Array((long.prefix(23) + "b").utf8), Array("key/00000001".utf8), Array("key/00000010".utf8), [0x7f], [0xff, 0x00]]
            .sorted { $0.lexicographicallyPrecedes($1) }
        var routes = [Route(id: 1, start: [], end: keys[0], group: 1)]
        for (i, k) in keys.enumerated() {
            routes.append(Route(id: RouteID(i + 2), start: k, end: i + 1 < keys.count ? keys[i + 1] : [], group: 1))
        }
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(processMetrics: false))
        p.apply(try RouteCatalog(routes: routes))
        let infos = samples(p, "keyviz_bucket_info")
        let sorted = infos.sorted { ($0.labels["axis"]!, $0.labels["bucket"]!) < ($1.labels["axis"]!, $1.labels["bucket"]!) }
        #expect(sorted.map { $0.labels["bucket"]! } == p.currentLayout().buckets.map(\.label))
        #expect(infos.map { $0.labels["bucket"]! }.sorted() != p.currentLayout().buckets.map(\.label))   // the label alone would not do
        #expect(Set(infos.map { $0.labels["axis"]!.count }) == [2 * RenderState.axisBytes])
    }

    @Test func axisPreservesKeyOrderForRandomKeys() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5000 {
            let a = (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 4 + 0x61) }
            let b = (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 4 + 0x61) }
            let (x, y) = (RenderState.axis(a), RenderState.axis(b))
            if a.lexicographicallyPrecedes(b) { #expect(x <= y, "\(a) \(b)") }
            if b.lexicographicallyPrecedes(a) { #expect(y <= x, "\(a) \(b)") }
        }
    }

    @Test func hotRouteSeriesKeepTheirLabelsWhenTheHotRouteIsRenamed() throws {
        let clock = ManualClock()
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(hotRoutes: 2, processMetrics: false, now: clock.function))
        var c = RouteCatalog.evenlySplit(count: 10, groups: 1)
        p.apply(c)
        var hot = c.route(id: 7)!
        var labelSets = Set<String>()
        var ids: [String] = []
        for round in 0..<6 {
            clock.advance(130_000)   // older windows no longer count: the renamed route leads
            for _ in 0..<900 { p.observe(route: hot.id, op: .write, keyLength: 1, valueLength: 1) }
            for r in c.routes where r.id != hot.id { p.observe(route: r.id, op: .write, keyLength: 1, valueLength: 1) }
            let all = TestExposition.samples(p.render(format: .prometheusText))
            for s in all where s.name.hasPrefix("keyviz_hot_route_") && s.labels["rank"] == "1" && s.labels["op"] == "write" {
                labelSets.insert(s.name + s.rawLabels)
            }
            ids.append(all.first { $0.name == "keyviz_hot_route_id" && $0.labels == ["op": "write", "rank": "1"] }!.value)
            // Split the hot route in its upper half: the hot keys stay in the left part, which
            // gets a new id but keeps the start key, so the bucket does not move.
            let mid = hot.start + [UInt8(0x70 - round)]
            c = try c.splitting(hot.id, at: mid)
            hot = c.route(forKey: hot.start)!
            p.apply(c)
        }
        // share, ops/s, id and info for (write, 1): one series each over all renames…
        #expect(labelSets.count == 4, "\(labelSets)")
        #expect(labelSets.contains { $0.hasPrefix("keyviz_hot_route_info{") && $0.contains("bucket=") })
        let moving = labelSets.map { $0.drop { $0 != "{" } }.filter { $0.contains("route_id") || $0.contains("start=") }
        #expect(moving.isEmpty, "\(labelSets)")
        // …while the route id, a value, followed the renames.
        #expect(Set(ids).count >= 5, "\(ids)")
    }

    @Test func aHotRouteThatLeftTheCatalogKeepsNamingItsBucket() throws {
        let clock = ManualClock()
        let p = PrometheusSampler(wrapping: NoopSampler(), configuration: .init(hotRoutes: 1, processMetrics: false, now: clock.function))
        let c = RouteCatalog.evenlySplit(count: 10, groups: 1)
        p.apply(c)
        clock.advance(5_000)
        for _ in 0..<500 { p.observe(route: 7, op: .write, keyLength: 1, valueLength: 1) }
        func rank1() -> (id: String, bucket: String?) {
            let all = TestExposition.samples(p.render(format: .prometheusText))
            return (all.first { $0.name == "keyviz_hot_route_id" && $0.labels["op"] == "write" }!.value,
                    all.first { $0.name == "keyviz_hot_route_info" && $0.labels["op"] == "write" }!.labels["bucket"])
        }
        let before = rank1()
        #expect(before.id == "7" && before.bucket?.isEmpty == false)
        // Merged away: route 7 still ranks first on its window's count, and names the bucket
        // that holds its keys now (the merged route's), where its counts fold.
        let merged = try c.merging(6, 7)
        p.apply(merged)
        clock.advance(1_000)
        let layout = p.currentLayout()
        let holding = layout.buckets[layout.bucketIndex(forKey: c.route(id: 7)!.start)].label
        let after = rank1()
        #expect(after.id == "7" && after.bucket == holding)
        // Past the grace period the catalog has forgotten route 7 (its slot is released); it
        // still ranks, and keeps naming the bucket it was last seen in.
        clock.advance(20_000)
        _ = rank1()                      // this fold releases route 7's slot…
        var grown = merged
        for r in merged.routes where !r.start.isEmpty && r.id != merged.routes[5].id {
            grown = try grown.splitting(r.id, at: r.start + [0x7f])
        }
        p.apply(grown)                   // …and new routes take the released slots
        let later = rank1()
        #expect(later.id == "7" && later.bucket == holding)
    }
}
