import KeyViz
@testable import KeyVizPrometheus
import Testing

private func catalog(_ n: Int) -> RouteCatalog { RouteCatalog.evenlySplit(count: n, groups: 3) }

@Suite struct BucketLayoutTests {
    @Test(arguments: [1, 2, 10, 1000, 100_000])
    func neverMoreBucketsThanTheBudget(routes: Int) {
        let c = catalog(routes)
        for budget in [1, 2, 7, 256, 4096] {
            let layout = BucketLayout(catalog: c, budget: budget)
            #expect(layout.buckets.count <= budget)
            #expect(layout.buckets.count >= 1)
            #expect(layout.buckets.reduce(0) { $0 + $1.routeCount } == routes)
            #expect(layout.buckets.first?.start == c.routes.first?.start)
        }
    }

    @Test func fewerRoutesThanTheBudgetGetOneBucketEach() {
        let layout = BucketLayout(catalog: catalog(100), budget: 256)
        #expect(layout.buckets.count == 100)
        #expect(layout.level == 0)
    }

    @Test func bucketsTileTheKeySpaceInOrder() {
        let c = catalog(5000)
        let layout = BucketLayout(catalog: c, budget: 64)
        for (a, b) in zip(layout.buckets, layout.buckets.dropFirst()) {
            #expect(a.end == b.start)
            #expect(a.start.lexicographicallyPrecedes(b.start))
        }
        #expect(layout.buckets.last?.end == [])
        for r in c.routes.prefix(200) {
            let i = layout.bucketIndex(forKey: r.start)
            #expect(!r.start.lexicographicallyPrecedes(layout.buckets[i].start))
        }
    }

    @Test func theLayoutDependsOnlyOnTheCatalogAndBudget() throws {
        let c = catalog(3000)
        let shuffled = try RouteCatalog(routes: c.routes.shuffled())
        #expect(BucketLayout(catalog: c, budget: 100) == BucketLayout(catalog: shuffled, budget: 100))
    }

    /// Property 5, measured: 1 000 random splits/merges on a 10 000-route catalog.
    @Test func aSplitOrMergeChangesAtMostACoupleOfBucketsOnAverage() throws {
        var rng = SplitMix64(seed: 42)
        var c = catalog(10_000)
        var layout = BucketLayout(catalog: c, budget: 256)
        var changes: [Int] = []
        for _ in 0..<1000 {
            let x = rng.next()
            if x & 1 == 0 {
                let key = Array("key/\(String(format8(Int((x >> 8) % 100_000_000))))x".utf8)
                guard let r = c.route(forKey: key) else { continue }
                c = try c.splitting(r.id, at: key)
            } else {
                let i = Int((x >> 8) % UInt64(c.routes.count - 1))
                c = try c.merging(c.routes[i].id, c.routes[i + 1].id)
            }
            let next = BucketLayout(catalog: c, budget: 256)
            changes.append(BucketLayout.changedLabels(from: layout, to: next).count)
            layout = next
        }
        let mean = Double(changes.reduce(0, +)) / Double(changes.count)
        print("layout churn over \(changes.count) events on 10000 routes, budget 256: mean \(mean), max \(changes.max() ?? 0) labels per event")
        #expect(changes.count == 1000)
        #expect(mean <= 2)
        #expect(layout.buckets.count <= 256)
    }

    @Test func aLevelChangeKeepsTheSurvivingLabels() {
        // Doubling the routes pushes the level up; the boundaries that survive keep their labels.
        let small = BucketLayout(catalog: catalog(1000), budget: 64)
        let finer = BucketLayout(catalog: catalog(1000), budget: 200)
        #expect(finer.level < small.level)
        let coarse = Set(small.buckets.map(\.label)), fine = Set(finer.buckets.map(\.label))
        #expect(coarse.isSubset(of: fine))
    }

    @Test func previewLabelsAreReadableShortAndUnique() {
        #expect(BucketLabeler.label(forStart: [], mode: .keyPreview) == "(begin)")
        #expect(BucketLabeler.label(forStart: Array("user/42".utf8), mode: .keyPreview) == "user/42")
        #expect(BucketLabeler.label(forStart: [0x00, 0xff, 0x10], mode: .keyPreview) == "0x00ff10")
        #expect(BucketLabeler.label(forStart: Array("0xabc".utf8), mode: .keyPreview) == "0x3078616263")
        #expect(BucketLabeler.label(forStart: Array("(begin)".utf8), mode: .keyPreview).hasPrefix("0x"))
        let long1 = Array(String(repeating: "a", count: 40).utf8), long2 = long1 + [0x62]
        let l1 = BucketLabeler.label(forStart: long1, mode: .keyPreview), l2 = BucketLabeler.label(forStart: long2, mode: .keyPreview)
        #expect(l1.count == 32 && l2.count == 32 && l1 != l2)
        #expect(l1.hasPrefix(String(repeating: "a", count: 23) + "~"))
        let unique = BucketLabeler.uniqueLabels([long1, long1 + [1], long1 + [2], Array("x".utf8)], mode: .keyPreview)
        #expect(Set(unique).count == 4)
    }

    @Test func hashedLabelsRevealNoKeyBytes() {
        let label = BucketLabeler.label(forStart: Array("secret/customer-7".utf8), mode: .hashed)
        #expect(label.count == 16)
        #expect(label.allSatisfy { $0.isHexDigit })
        #expect(!label.contains("secret"))
        let layout = BucketLayout(catalog: catalog(50), budget: 8, labelMode: .hashed)
        #expect(layout.buckets.allSatisfy { $0.label.count == 16 })
    }
}

func format8(_ v: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
