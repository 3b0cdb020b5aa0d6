import KeyViz
import Testing

private func k(_ s: String) -> [UInt8] { Array(s.utf8) }
private func r(_ id: RouteID, _ start: String, _ end: String, group: ShardGroupID = 1) -> Route {
    Route(id: id, start: k(start), end: k(end), group: group)
}

@Suite struct RouteCatalogTests {
    @Test func acceptsContiguousRoutesInAnyInputOrder() throws {
        let c = try RouteCatalog(routes: [r(2, "m", ""), r(1, "", "m")])
        #expect(c.routes.map(\.id) == [1, 2])
        #expect(c.route(forKey: k("a"))?.id == 1)
        #expect(c.route(forKey: k("m"))?.id == 2)
        #expect(c.route(forKey: k("zzz"))?.id == 2)
        #expect(c.nextRouteID == 3)
    }

    @Test func rejectsEmptyCatalog() {
        #expect(throws: RouteCatalogError.empty) { try RouteCatalog(routes: []) }
    }

    @Test func rejectsOverlapNamingBothRoutes() {
        let a = r(1, "a", "m"), b = r(2, "k", "")
        #expect(throws: RouteCatalogError.overlap(a, b)) { try RouteCatalog(routes: [a, b]) }
    }

    @Test func rejectsUnboundedRouteBeforeAnother() {
        let a = r(1, "a", ""), b = r(2, "k", "")
        #expect(throws: RouteCatalogError.overlap(a, b)) { try RouteCatalog(routes: [a, b]) }
    }

    @Test func rejectsGapNamingBothRoutes() {
        let a = r(1, "a", "f"), b = r(2, "g", "")
        #expect(throws: RouteCatalogError.gap(a, b)) { try RouteCatalog(routes: [a, b]) }
    }

    @Test func rejectsStartNotBeforeEnd() {
        let bad = r(1, "m", "a")
        #expect(throws: RouteCatalogError.emptyRange(bad)) { try RouteCatalog(routes: [bad]) }
        let empty = r(2, "m", "m")
        #expect(throws: RouteCatalogError.emptyRange(empty)) { try RouteCatalog(routes: [empty]) }
    }

    @Test func rejectsDuplicateIDs() {
        #expect(throws: RouteCatalogError.duplicateID(7)) { try RouteCatalog(routes: [r(7, "", "m"), r(7, "m", "")]) }
    }

    @Test func rejectsReservedAndOutOfRangeIDs() {
        #expect(throws: RouteCatalogError.reservedID(.unrouted)) { try RouteCatalog(routes: [r(.unrouted, "", "")]) }
        #expect(throws: RouteCatalogError.reservedID(RouteID.limit)) { try RouteCatalog(routes: [r(RouteID.limit, "", "")]) }
    }

    @Test func errorMessagesNameTheOffendingRoutes() {
        let text = RouteCatalogError.gap(r(1, "a", "f"), r(2, "g", "")).description
        #expect(text.contains("route 1") && text.contains("route 2"))
    }

    @Test func splitGivesTwoNewIDsAndANewVersion() throws {
        let c = try RouteCatalog(routes: [r(1, "", "")])
        let s = try c.splitting(1, at: k("m"))
        #expect(s.version == c.version + 1)
        #expect(s.routes.map(\.id) == [2, 3])
        #expect(s.routes[0].end == k("m") && s.routes[1].start == k("m"))
        #expect(s.nextRouteID == 4)
    }

    @Test func splitAtTheStartKeyIsRejected() throws {
        let c = try RouteCatalog(routes: [r(1, "a", "z")])
        #expect(throws: RouteCatalogError.splitKeyOutsideRoute(c.routes[0], key: k("a"))) { try c.splitting(1, at: k("a")) }
        #expect(throws: RouteCatalogError.splitKeyOutsideRoute(c.routes[0], key: k("z"))) { try c.splitting(1, at: k("z")) }
    }

    @Test func mergeJoinsAdjacentRoutesUnderOneNewID() throws {
        let c = try RouteCatalog(routes: [r(1, "", "g"), r(2, "g", "p"), r(3, "p", "")])
        let m = try c.merging(2, 3)
        #expect(m.routes.map(\.id) == [1, 4])
        #expect(m.routes[1].start == k("g") && m.routes[1].end.isEmpty)
        #expect(throws: RouteCatalogError.notAdjacent(c.routes[0], c.routes[2])) { try c.merging(1, 3) }
    }

    @Test func idsAreNeverReusedAfterRemoval() throws {
        let c = try RouteCatalog(routes: [r(1, "", "g"), r(2, "g", "")])
        let removed = try c.removing(2)
        let split = try removed.splitting(1, at: k("c"))
        #expect(!split.routes.map(\.id).contains(2))
    }

    @Test func removingAMiddleRouteIsRejected() throws {
        let c = try RouteCatalog(routes: [r(1, "", "g"), r(2, "g", "p"), r(3, "p", "")])
        #expect(throws: RouteCatalogError.removalWouldLeaveGap(c.routes[1])) { try c.removing(2) }
        let edge = try c.removing(3)
        #expect(edge.route(forKey: k("q")) == nil)
        let back = try edge.adding(r(9, "p", ""))
        #expect(back.route(forKey: k("q"))?.id == 9)
    }

    @Test func evenlySplitCoversEveryKey() {
        let c = RouteCatalog.evenlySplit(count: 64, groups: 3)
        #expect(c.routes.count == 64)
        #expect(c.route(forKey: [])?.id == 1)
        #expect(c.route(forKey: [0xff, 0xff])?.id == 64)
        #expect(Set(c.routes.map(\.group)) == [1, 2, 3])
    }
}

@Suite struct KeyPreviewTests {
    @Test func theKeySpaceEndsHaveOneSpellingThatNoKeyCanTake() {
        #expect(KeyPreview.render([UInt8]()) == "(begin)")
        #expect(KeyPreview.renderEnd([UInt8]()) == "(end)")
        #expect(KeyPreview.render(Array("(begin)".utf8)) == "0x28626567696e29")
        #expect(KeyPreview.render(Array("0x00".utf8)) != KeyPreview.render([0x00]))
        #expect(KeyPreview.render(Array("key/1".utf8)) == "key/1")
        #expect(KeyPreview.renderRange(start: [UInt8](), end: Array("m".utf8)) == "[(begin), m)")
    }

    /// Cut to a head and 8 hex digits of the key's hash (the exporter's label rule), so two long
    /// keys with one head still spell apart.
    @Test func aHugeKeyIsCutToAHeadAndItsHash() {
        let huge = [UInt8](repeating: 0xab, count: 10_000_000)
        let p = KeyPreview.render(huge, maxLength: 16)
        #expect(p.count == 16 && p.hasPrefix("0xabab") && p.contains("~"))
        #expect(KeyPreview.render(Array("abcdefghijklmnopqrstuvwxyz".utf8), maxLength: 16) == "abcdefg~" + String(String(KeyPreview.hash(Array("abcdefghijklmnopqrstuvwxyz".utf8)), radix: 16).leftPadded.prefix(8)))
        #expect(KeyPreview.render(Array("abcdefghijklmnopqrstuvwxyz".utf8), maxLength: 16) != KeyPreview.render(Array("abcdefghijklmnopqrstuvwxyZ".utf8), maxLength: 16))
    }
}

private extension String {
    var leftPadded: String { String(repeating: "0", count: max(0, 16 - count)) + self }
}
