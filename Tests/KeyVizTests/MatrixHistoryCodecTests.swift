import KeyViz
import KeyVizTestKit
import Testing

/// A sampler with some history in three tiers, churned so columns name different routes.
private func busySampler(seed: UInt64, flushes: Int) -> HeatMatrixSampler {
    var rng = SplitMix64(seed: seed)
    let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 6, stripes: 1,
                                                   coarserTiers: [.init(stepMilliseconds: 3_000, columns: 4), .init(stepMilliseconds: 12_000, columns: 5)]))
    var catalog = RouteCatalog.evenlySplit(count: 5, groups: 2)
    s.apply(catalog)
    for i in 0..<flushes {
        for _ in 0..<(rng.next() % 20) {
            let routes = catalog.routes
            let id = rng.next() % 9 == 0 ? RouteID(777) : routes[Int(rng.next() % UInt64(routes.count))].id
            s.observe(route: id, op: rng.next() % 2 == 0 ? .read : .write, keyLength: Int(rng.next() % 40), valueLength: Int(rng.next() % 4000))
        }
        if i % 7 == 3 {
            let r = catalog.routes[Int(rng.next() % UInt64(catalog.routes.count))]
            catalog = (try? catalog.splitting(r.id, at: r.start + [UInt8(rng.next() % 250 + 1), 0, 0xff])) ?? catalog
            s.apply(catalog)
        }
        s.flush(atUnixMs: 1_700_000_000_000 + Int64(i) * 1_000 + Int64(rng.next() % 100))
    }
    return s
}

@Suite struct MatrixHistoryCodecTests {
    @Test(arguments: [0, 1, 5, 40, 200])
    func aHistoryRoundTripsThroughItsBytes(flushes: Int) throws {
        let history = busySampler(seed: UInt64(flushes), flushes: flushes).savedHistory()
        let bytes = MatrixHistoryCodec.encode(history)
        #expect(try MatrixHistoryCodec.decode(bytes) == history)
        #expect(Array(bytes.prefix(8)) == Array("KVZHIST1".utf8))
    }

    /// What a save writes (`encodedHistory()`, straight from the stored columns) is byte for
    /// byte what encoding the materialized history gives: churned routes, route changes, three
    /// tiers with pending columns, unrouted counts.
    @Test(arguments: [0, 1, 5, 40, 200])
    func theStreamedFileIsTheEncodedHistory(flushes: Int) throws {
        let s = busySampler(seed: UInt64(flushes) &+ 99, flushes: flushes)
        #expect(s.encodedHistory() == MatrixHistoryCodec.encode(s.savedHistory()))
    }

    /// The same for dense traffic (columns sharing their references, runs wrapping the ring)
    /// and for a restored history holding two routes with one id (a restart's).
    @Test func theStreamedFileIsTheEncodedHistoryForDenseAndRestoredHistories() throws {
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: 1_000, historyColumns: 7, stripes: 1,
                                                    coarserTiers: [.init(stepMilliseconds: 4_000, columns: 3)])
        let dense = HeatMatrixSampler(configuration: config)
        let catalog = RouteCatalog.evenlySplit(count: 40, groups: 3)
        dense.apply(catalog)
        for i in 0..<30 {
            for (k, r) in catalog.routes.enumerated() where i % 9 != 4 || k % 3 == 0 {
                dense.observe(route: r.id, op: k % 2 == 0 ? .read : .write, keyLength: 3, valueLength: k + i)
            }
            dense.flush(atUnixMs: 1_700_000_000_000 + Int64(i) * 1_000)
        }
        let bytes = dense.encodedHistory()
        #expect(bytes == MatrixHistoryCodec.encode(dense.savedHistory()))
        // Restored, then new routes under the same ids with other ranges.
        let restarted = HeatMatrixSampler(configuration: config)
        #expect(try restarted.restore(encoded: bytes) != nil)
        restarted.apply(.evenlySplit(count: 25, groups: 1))
        for r in RouteCatalog.evenlySplit(count: 25, groups: 1).routes { restarted.observe(route: r.id, op: .write, keyLength: 1, valueLength: 1) }
        restarted.flush(atUnixMs: 1_700_000_031_000)
        #expect(restarted.encodedHistory() == MatrixHistoryCodec.encode(restarted.savedHistory()))
        #expect(try MatrixHistoryCodec.decode(restarted.encodedHistory()) == restarted.savedHistory())
    }

    @Test func extremeValuesRoundTrip() throws {
        let route = Route(id: RouteID(RouteID.limit.rawValue - 1), start: [], end: Array(repeating: 0xff, count: 300), group: ShardGroupID(UInt64.max))
        let big = OpCounts(reads: .max, writes: .max - 1, readBytes: 1 << 63, writeBytes: 0)
        let coarsest = HeatMatrixSamplerConfiguration.maxTierStepMilliseconds
        let lastWindow = UnixTime.validMilliseconds.upperBound / coarsest * coarsest
        let history = MatrixHistory(tiers: [
            .init(stepMilliseconds: 1, columns: [MatrixColumn(unixMs: UnixTime.validMilliseconds.lowerBound, routes: [route], counts: [big], unrouted: .zero),
                                                 MatrixColumn(unixMs: 1, routes: [], counts: [], unrouted: .zero)]),
            .init(stepMilliseconds: coarsest, columns: [], pending: MatrixColumn(unixMs: lastWindow, routes: [route, route], counts: [.zero, .zero], unrouted: .zero)),
        ])
        #expect(try MatrixHistoryCodec.decode(MatrixHistoryCodec.encode(history)) == history)
    }

    /// A file that decodes but breaks what the matrix relies on is refused like a corrupt one
    /// (the node then sets it aside instead of restoring a column that traps a later request).
    @Test(arguments: [
        ("a stamp of Int64.min", MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: [MatrixColumn(unixMs: .min, routes: [], counts: [], unrouted: .zero)])])),
        ("a stamp after year 9999", MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: [MatrixColumn(unixMs: UnixTime.validMilliseconds.upperBound + 1, routes: [], counts: [], unrouted: .zero)])])),
        ("a step of Int64.max", MatrixHistory(tiers: [.init(stepMilliseconds: .max, columns: [])])),
        ("tiers not coarser", MatrixHistory(tiers: [.init(stepMilliseconds: 2_000, columns: []), .init(stepMilliseconds: 1_000, columns: [])])),
        ("a coarser column off its window", MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: []), .init(stepMilliseconds: 60_000, columns: [MatrixColumn(unixMs: 61_000, routes: [], counts: [], unrouted: .zero)])])),
        ("coarser columns out of order", MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: []), .init(stepMilliseconds: 60_000, columns: [
            MatrixColumn(unixMs: 120_000, routes: [], counts: [], unrouted: .zero), MatrixColumn(unixMs: 60_000, routes: [], counts: [], unrouted: .zero)])])),
        ("a pending column before the ring", MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: []), .init(stepMilliseconds: 60_000, columns: [
            MatrixColumn(unixMs: 120_000, routes: [], counts: [], unrouted: .zero)], pending: MatrixColumn(unixMs: 120_000, routes: [], counts: [], unrouted: .zero))])),
        ("counts summing past 64 bits", MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: [
            MatrixColumn(unixMs: 1_000, routes: [], counts: [], unrouted: OpCounts(reads: .max, writes: 0, readBytes: 0, writeBytes: 0)),
            MatrixColumn(unixMs: 2_000, routes: [], counts: [], unrouted: OpCounts(reads: 1, writes: 0, readBytes: 0, writeBytes: 0))])])),
        ("a route ending before it starts", MatrixHistory(tiers: [.init(stepMilliseconds: 1_000, columns: [
            MatrixColumn(unixMs: 1_000, routes: [Route(id: 1, start: [9], end: [1], group: 0)], counts: [.zero], unrouted: .zero)])])),
    ] as [(String, MatrixHistory)])
    func aHistoryBreakingAnInvariantIsRefused(what: String, history: MatrixHistory) {
        #expect(throws: MatrixHistoryCodecError.self, "\(what)") { try MatrixHistoryCodec.decode(MatrixHistoryCodec.encode(history)) }
    }

    /// Decoded routes are shared between the columns that name them (memory stays what the
    /// node had before the restart, not one copy of each key per column).
    @Test func decodedColumnsShareOneCopyOfEachRoutesKeys() throws {
        let history = busySampler(seed: 3, flushes: 30).savedHistory()
        let decoded = try MatrixHistoryCodec.decode(MatrixHistoryCodec.encode(history))
        var first: [RouteID: [UInt8]] = [:]
        var shared = 0, total = 0
        for c in decoded.columnsOldestFirst {
            for r in c.routes {
                total += 1
                if let f = first[r.id] {
                    let same = f.withUnsafeBufferPointer { a in r.end.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
                    if same || r.end.isEmpty { shared += 1 }
                } else {
                    first[r.id] = r.end
                    shared += 1
                }
            }
        }
        #expect(total > 50 && shared == total)
    }

    /// Any bytes give a history or a clear error: every truncation, every single-bit flip (all
    /// caught by the length or the CRC), random bytes, and random payload edits with the CRC
    /// fixed up so the structural checks themselves are exercised. Seeds printed.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func decodingMangledBytesThrowsAClearErrorNeverCrashes(seed: UInt64) {
        print("codec fuzz seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let good = MatrixHistoryCodec.encode(busySampler(seed: seed, flushes: 60).savedHistory())
        var errors: [String: Int] = [:]
        func attempt(_ bytes: [UInt8], mustFail: Bool, _ what: String) {
            do {
                _ = try MatrixHistoryCodec.decode(bytes)
                if mustFail { Issue.record("seed \(seed): \(what) decoded") }
            } catch {
                let text = error.description
                #expect(!text.isEmpty)
                errors[String(text.prefix(30)), default: 0] += 1
            }
        }
        for n in 0..<good.count { attempt(Array(good.prefix(n)), mustFail: true, "truncated to \(n)") }
        for _ in 0..<2_000 {
            var b = good
            let bit = Int(rng.next() % UInt64(b.count * 8))
            b[bit / 8] ^= 1 << UInt8(bit % 8)
            attempt(b, mustFail: true, "bit \(bit) flipped")
        }
        for _ in 0..<500 {
            attempt((0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, mustFail: true, "random bytes")
            var b = good
            b.append(contentsOf: [UInt8(rng.next() & 0xff)])
            attempt(b, mustFail: true, "one byte appended")
        }
        // Structural: edit the payload, then fix length and CRC so only the parser can object.
        for _ in 0..<3_000 {
            var payload = Array(good[24...])
            switch rng.next() % 4 {
            case 0: payload[Int(rng.next() % UInt64(payload.count))] = UInt8(truncatingIfNeeded: rng.next())
            case 1: payload.removeSubrange(Int(rng.next() % UInt64(payload.count))..<payload.count)
            case 2: payload.insert(contentsOf: Array(repeating: 0xff, count: Int(rng.next() % 12)), at: Int(rng.next() % UInt64(payload.count)))
            default: payload[Int(rng.next() % UInt64(payload.count))] = 0x80 | UInt8(truncatingIfNeeded: rng.next())
            }
            attempt(resealed(payload), mustFail: false, "payload edit")
        }
        print("codec fuzz seed \(seed): \(errors.values.reduce(0, +)) errors of \(errors.count) kinds")
        #expect(errors.count >= 5)
    }

    @Test func aHugeDeclaredCountIsRefusedBeforeAnythingIsAllocated() {
        var payload: [UInt8] = []
        // 2^62 routes declared in a 12-byte payload.
        payload.append(contentsOf: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 0, 0])
        #expect(throws: MatrixHistoryCodecError.self) { try MatrixHistoryCodec.decode(resealed(payload)) }
        // A key length of 1 GiB.
        let key: [UInt8] = [1, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x04]
        #expect(throws: MatrixHistoryCodecError.self) { try MatrixHistoryCodec.decode(resealed(key)) }
    }
}

/// `payload` behind a header with the right length and CRC.
private func resealed(_ payload: [UInt8]) -> [UInt8] {
    let header = MatrixHistoryCodec.encode(MatrixHistory(tiers: [.init(stepMilliseconds: 1, columns: [])]))
    var out = Array(header[0..<12])
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * UInt64(i)))) }
    var c: UInt32 = 0xFFFF_FFFF
    for b in payload {
        c ^= UInt32(b)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    c ^= 0xFFFF_FFFF
    for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: c >> (8 * UInt32(i)))) }
    return out + payload
}

@Suite struct StreamingRestoreTests {
    /// Restoring straight from the bytes, one column at a time, gives the very history that
    /// restoring the decoded value gives: into the same tiers and into different ones.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func restoringFromBytesEqualsRestoringTheDecodedHistory(seed: UInt64) throws {
        let bytes = MatrixHistoryCodec.encode(busySampler(seed: seed, flushes: 25 + Int(seed) * 20).savedHistory())
        let layouts: [HeatMatrixSamplerConfiguration] = [
            .init(stepMilliseconds: 1_000, historyColumns: 6, stripes: 1,
                  coarserTiers: [.init(stepMilliseconds: 3_000, columns: 4), .init(stepMilliseconds: 12_000, columns: 5)]),
            .init(stepMilliseconds: 1_000, historyColumns: 3, stripes: 1, coarserTiers: [.init(stepMilliseconds: 6_000, columns: 2)]),
            .init(stepMilliseconds: 2_000, historyColumns: 50, stripes: 1),
        ]
        for configuration in layouts {
            let streamed = HeatMatrixSampler(configuration: configuration)
            let whole = HeatMatrixSampler(configuration: configuration)
            let restored = try #require(try streamed.restore(encoded: bytes))
            let decoded = try MatrixHistoryCodec.decode(bytes)
            #expect(whole.restore(decoded))
            #expect(streamed.savedHistory() == whole.savedHistory(), "seed \(seed), \(configuration.effectiveTiers)")
            #expect(restored.columns == decoded.columnCount && restored.newestUnixMs == decoded.newestUnixMs)
            // Only into an empty history.
            #expect(try streamed.restore(encoded: bytes) == nil)
        }
    }

    @Test func aBadFileRestoresNothing() {
        var bytes = MatrixHistoryCodec.encode(busySampler(seed: 9, flushes: 30).savedHistory())
        bytes[bytes.count - 3] ^= 0x40
        let s = HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000))
        #expect(throws: MatrixHistoryCodecError.self) { try s.restore(encoded: bytes) }
        #expect(s.savedHistory().columnCount == 0)
    }
}

@Suite struct SavedEventsTests {
    /// Splits and merges survive a restart with the columns: saved, restored, and listed again.
    @Test func routeChangesAreSavedAndRestoredWithTheColumns() throws {
        let s = busySampler(seed: 21, flushes: 40)
        let saved = s.savedHistory()
        #expect(!saved.events.isEmpty)
        let bytes = MatrixHistoryCodec.encode(saved)
        #expect(try MatrixHistoryCodec.decode(bytes).events == saved.events)
        let streamed = HeatMatrixSampler(configuration: s.configuration)
        _ = try streamed.restore(encoded: bytes)
        #expect(streamed.routeChanges.events() == s.routeChanges.events())
        let whole = HeatMatrixSampler(configuration: s.configuration)
        #expect(whole.restore(saved))
        #expect(whole.routeChanges.events() == s.routeChanges.events())
    }

    /// A file of format version 1 (before events were saved) still loads, with no events.
    @Test func aVersionOneFileStillLoads() throws {
        var history = busySampler(seed: 22, flushes: 20).savedHistory()
        history.events = []
        var bytes = MatrixHistoryCodec.encode(history)
        #expect(bytes.last == 0)                 // the empty event list: version 2's only addition
        var payload = Array(bytes[24...].dropLast())
        bytes = resealed(payload)
        bytes[8] = 1                             // version 1
        #expect(try MatrixHistoryCodec.decode(bytes) == history)
        payload.append(0)
        #expect(throws: MatrixHistoryCodecError.self) { try MatrixHistoryCodec.decode(resealed(payload).enumerated().map { $0.offset == 8 ? 1 : $0.element }) }
    }
}
