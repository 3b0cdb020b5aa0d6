/// A compact binary form of a ``MatrixHistory``, for keeping the heat matrix across restarts.
///
/// Layout (little endian): `KVZHIST1` magic (8 bytes), format version (u32, 2; 1 is still read),
/// payload length (u64), CRC-32 of the payload (u32, IEEE), then the payload: the route table
/// (count, then per route id, group, start and end keys, each key length-prefixed), then the
/// tiers (count, then per tier its step, its complete columns and an optional pending column; a
/// column is its stamp, unrouted counts and `(route index, four counts)` entries), then (version
/// 2) the route change events (count, then per event its kind, stamp, catalog version, the
/// routes that left and came as counts and route indices). Integers in the payload are LEB128
/// varints (stamps and steps zigzag), so small counts take a byte.
///
/// Decoding trusts nothing: every length is checked against the bytes left before anything is
/// allocated for it, so any input, however long or mangled, gives a history or a
/// ``MatrixHistoryCodecError``, and allocation stays proportional to the input. Routes are
/// decoded once and shared by every column that names them. A file that decodes but breaks an
/// invariant the matrix relies on is refused like a corrupt one (`.invalid`): stamps within
/// 1970 to the end of 9999 (Unix milliseconds 0…253 402 300 799 999), tier steps in 1…``HeatMatrixSamplerConfiguration/maxTierStepMilliseconds``
/// and ascending, a coarser tier's columns on its own windows and in time order with its
/// pending column last, a route's end after its start, and every counter's sum over the whole
/// history within 64 bits. So nothing restored from a file can make later arithmetic trap.
public enum MatrixHistoryCodec {
    public static let magic: [UInt8] = Array("KVZHIST1".utf8)
    public static let version: UInt32 = 2
    /// Versions this build reads: 1 has no events.
    public static let readableVersions: ClosedRange<UInt32> = 1...2
    /// Most events accepted (a change log keeps at most 1 000 000).
    public static let maxEvents = 1_000_000
    static let headerLength = 24
    /// Longest key accepted (1 MiB): a real route bound is far shorter.
    public static let maxKeyLength = 1 << 20
    /// Most tiers accepted.
    public static let maxTiers = 64

    public static func encode(_ history: MatrixHistory) -> [UInt8] {
        var routeIndex: [Route: Int] = [:]
        var routes: [Route] = []
        for t in history.tiers {
            for c in t.columns + (t.pending.map { [$0] } ?? []) {
                for r in c.routes where routeIndex[r] == nil {
                    routeIndex[r] = routes.count
                    routes.append(r)
                }
            }
        }
        for e in history.events {
            for r in e.before + e.after where routeIndex[r] == nil {
                routeIndex[r] = routes.count
                routes.append(r)
            }
        }
        var w = MatrixHistoryWriter(reservingCapacity: 0)
        w.routes(routes)
        w.tierCount(history.tiers.count)
        for t in history.tiers {
            w.tier(step: t.stepMilliseconds, columns: t.columns.count)
            for c in t.columns {
                w.column(unixMs: c.unixMs, unrouted: c.unrouted, count: c.routes.count) { (routeIndex[c.routes[$0]]!, c.counts[$0]) }
            }
            w.pending(t.pending != nil)
            if let c = t.pending {
                w.column(unixMs: c.unixMs, unrouted: c.unrouted, count: c.routes.count) { (routeIndex[c.routes[$0]]!, c.counts[$0]) }
            }
        }
        w.events(history.events) { routeIndex[$0]! }
        return w.finish()
    }

    public static func decode(_ bytes: [UInt8]) throws(MatrixHistoryCodecError) -> MatrixHistory {
        var tiers: [MatrixHistory.Tier] = []
        let layout = try walk(bytes) { t, step, column, pending in
            if t == tiers.count { tiers.append(MatrixHistory.Tier(stepMilliseconds: step, columns: [])) }
            if pending { tiers[t].pending = column } else { tiers[t].columns.append(column) }
        } tier: { t, step in
            if t == tiers.count { tiers.append(MatrixHistory.Tier(stepMilliseconds: step, columns: [])) }
        }
        return MatrixHistory(tiers: tiers, events: layout.events)
    }

    /// What a checked payload holds, without its columns: where each tier starts, so a restore
    /// can read the tiers in the order it needs one column at a time.
    package struct Layout {
        var routes: [Route]
        var tiers: [(step: Int64, offset: Int)]
        /// The route change events (few, bounded by the log's capacity): kept whole.
        package var events: [RouteChangeEvent] = []
        package var columnCount = 0
        package var newestUnixMs: Int64?
    }

    /// Checks every byte of `bytes` (header, CRC, structure, invariants) without keeping any
    /// column: memory is the route table. Then ``forEachColumnOldestFirst(_:_:_:)`` reads them.
    package static func layout(_ bytes: [UInt8]) throws(MatrixHistoryCodecError) -> Layout {
        try walk(bytes, column: nil, tier: { _, _ in })
    }

    /// Every column of a checked payload, oldest first (coarsest tier first, each tier's pending
    /// column after its complete ones), with its tier's step, one at a time.
    package static func forEachColumnOldestFirst(_ bytes: [UInt8], _ layout: Layout,
                                                 _ body: (_ step: Int64, _ column: MatrixColumn) -> Void) throws(MatrixHistoryCodecError) {
        var sum = CheckedTotals()
        for (t, tier) in layout.tiers.enumerated().reversed() {
            var r = Reader(bytes: bytes[headerLength...])
            r.position = r.bytes.startIndex + tier.offset
            try readTier(&r, index: t, step: tier.step, routes: layout.routes, sum: &sum) { c, _ in body(tier.step, c) }
        }
    }

    /// The one decoder: header, routes, then each tier's step and columns, every invariant
    /// checked as it is read. `column` (nil: checked and dropped) gets each column as read.
    private static func walk(_ bytes: [UInt8], column: ((_ tier: Int, _ step: Int64, _ column: MatrixColumn, _ pending: Bool) -> Void)?,
                             tier: (_ tier: Int, _ step: Int64) -> Void) throws(MatrixHistoryCodecError) -> Layout {
        guard bytes.count >= headerLength else { throw .tooShort(bytes.count) }
        guard Array(bytes[0..<8]) == magic else { throw .badMagic }
        func readLE(_ at: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            return v
        }
        let v = UInt32(readLE(8, 4))
        guard readableVersions.contains(v) else { throw .unsupportedVersion(v) }
        let length = readLE(12, 8)
        guard length == UInt64(bytes.count - headerLength) else { throw .lengthMismatch(header: length, present: bytes.count - headerLength) }
        let crc = UInt32(readLE(20, 4))
        let payload = bytes[headerLength...]
        let computed = CRC32.checksum(payload)
        guard crc == computed else { throw .checksumMismatch(header: crc, computed: computed) }
        var r = Reader(bytes: payload)
        let routeCount = try r.count("route count", minimumBytesEach: 4)
        var routes: [Route] = []
        routes.reserveCapacity(routeCount)
        for _ in 0..<routeCount {
            let at = r.offset
            let id = try r.varint("route id")
            guard id < RouteID.limit.rawValue else { throw .invalid(what: "route id \(id)", offset: at) }
            let group = try r.varint("route group")
            let start = try r.key("route start key")
            let end = try r.key("route end key")
            guard end.isEmpty || start.lexicographicallyPrecedes(end) else { throw .invalid(what: "route \(id): end key not after start key", offset: at) }
            routes.append(Route(id: RouteID(id), start: start, end: end, group: ShardGroupID(group)))
        }
        let tierCount = try r.count("tier count", minimumBytesEach: 3)
        guard tierCount >= 1, tierCount <= maxTiers else { throw .invalid(what: "tier count \(tierCount)", offset: r.offset) }
        var layout = Layout(routes: routes, tiers: [])
        var sum = CheckedTotals()
        for t in 0..<tierCount {
            let at = r.offset
            let step = unzigzag(try r.varint("tier step"))
            guard step > 0, step <= HeatMatrixSamplerConfiguration.maxTierStepMilliseconds else { throw .invalid(what: "tier step \(step)", offset: at) }
            if let finer = layout.tiers.last?.step, step <= finer { throw .invalid(what: "tier step \(step) not above the finer tier's \(finer)", offset: at) }
            layout.tiers.append((step, r.offset))
            tier(t, step)
            var newest: Int64?
            try readTier(&r, index: t, step: step, routes: routes, sum: &sum) { c, pending in
                layout.columnCount += 1
                newest = c.unixMs
                column?(t, step, c, pending)
            }
            if layout.newestUnixMs == nil { layout.newestUnixMs = newest }
        }
        if v >= 2 {
            let n = try r.count("event count", minimumBytesEach: 7)
            guard n <= maxEvents else { throw .invalid(what: "event count \(n)", offset: r.offset) }
            layout.events.reserveCapacity(n)
            for _ in 0..<n {
                let at = r.offset
                let kindByte = try r.byte("event kind")
                guard Int(kindByte) < RouteChangeEvent.Kind.allCases.count else { throw .invalid(what: "event kind \(kindByte)", offset: at) }
                let stamp = unzigzag(try r.varint("event stamp"))
                guard UnixTime.validMilliseconds.contains(stamp) else { throw .invalid(what: "event stamp \(stamp)", offset: at) }
                let catalogVersion = try r.varint("event catalog version")
                var sides: [(listed: [Route], count: Int)] = []
                for _ in 0..<2 {
                    let countAt = r.offset
                    let count = try r.varint("event route count")
                    let listed = try r.count("event listed routes", minimumBytesEach: 1)
                    guard listed <= RouteChangeEvent.maxListedRoutes, UInt64(listed) <= count, count <= RouteID.limit.rawValue else {
                        throw .invalid(what: "event lists \(listed) of \(count) routes", offset: countAt)
                    }
                    var routesListed: [Route] = []
                    for _ in 0..<listed {
                        let i = try r.varint("event route index")
                        guard i < UInt64(routes.count) else { throw .invalid(what: "event route index \(i) of \(routes.count)", offset: countAt) }
                        routesListed.append(routes[Int(i)])
                    }
                    sides.append((routesListed, Int(count)))
                }
                layout.events.append(RouteChangeEvent(kind: RouteChangeEvent.Kind.allCases[Int(kindByte)], unixMs: stamp, catalogVersion: catalogVersion,
                                                      before: sides[0].listed, beforeCount: sides[0].count,
                                                      after: sides[1].listed, afterCount: sides[1].count))
            }
        }
        guard r.offset == payload.count else { throw .invalid(what: "trailing \(payload.count - r.offset) bytes", offset: r.offset) }
        return layout
    }

    /// One tier's columns and pending column, from its column count on.
    private static func readTier(_ r: inout Reader, index t: Int, step: Int64, routes: [Route], sum: inout CheckedTotals,
                                 _ body: (MatrixColumn, _ pending: Bool) -> Void) throws(MatrixHistoryCodecError) {
        func column() throws(MatrixHistoryCodecError) -> MatrixColumn {
            let stampAt = r.offset
            let stamp = unzigzag(try r.varint("column stamp"))
            guard UnixTime.validMilliseconds.contains(stamp) else { throw .invalid(what: "column stamp \(stamp)", offset: stampAt) }
            let unrouted = try r.counts("unrouted counts")
            guard sum.add(unrouted) else { throw .invalid(what: "counts whose sum is over 64 bits", offset: stampAt) }
            let n = try r.count("column entry count", minimumBytesEach: 5)
            var c = MatrixColumn(unixMs: stamp, routes: [], counts: [], unrouted: unrouted)
            c.routes.reserveCapacity(n)
            c.counts.reserveCapacity(n)
            for _ in 0..<n {
                let at = r.offset
                let i = try r.varint("route index")
                guard i < UInt64(routes.count) else { throw .invalid(what: "route index \(i) of \(routes.count)", offset: at) }
                c.routes.append(routes[Int(i)])
                let counts = try r.counts("route counts")
                guard sum.add(counts) else { throw .invalid(what: "counts whose sum is over 64 bits", offset: at) }
                c.counts.append(counts)
            }
            return c
        }
        let n = try r.count("tier column count", minimumBytesEach: 6)
        // The finest tier's stamps are flush times (the clock may have gone back between
        // two); a coarser tier's are its windows' ends, in time order.
        var previous: Int64?
        func windowed(_ c: MatrixColumn, _ what: String, _ at: Int) throws(MatrixHistoryCodecError) {
            guard t > 0 else { return }
            guard TieredHistory.windowEnd(c.unixMs, step: step) == c.unixMs else { throw .invalid(what: "\(what) stamp \(c.unixMs) off its \(step) ms window", offset: at) }
            if let p = previous, c.unixMs <= p { throw .invalid(what: "\(what) stamp \(c.unixMs) not after \(p)", offset: at) }
            previous = c.unixMs
        }
        for _ in 0..<n {
            let at = r.offset
            let c = try column()
            try windowed(c, "column", at)
            body(c, false)
        }
        let flagAt = r.offset
        let flag = try r.byte("pending flag")
        guard flag <= 1 else { throw .invalid(what: "pending flag \(flag)", offset: flagAt) }
        if flag == 1 {
            let at = r.offset
            let c = try column()
            try windowed(c, "pending column", at)
            body(c, true)
        }
    }

    // MARK: encoding helpers

    static func varint(_ value: UInt64, _ o: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            o.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        o.append(UInt8(v))
    }

    static func counts(_ c: OpCounts, _ o: inout [UInt8]) {
        varint(c.reads, &o); varint(c.writes, &o); varint(c.readBytes, &o); varint(c.writeBytes, &o)
    }

    static func le(_ value: UInt64, _ n: Int, _ o: inout [UInt8]) {
        for i in 0..<n { o.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    /// Reads the payload front to back; every read checks the bytes left.
    struct Reader {
        let bytes: ArraySlice<UInt8>
        var position: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        var offset: Int { position - bytes.startIndex }
        var left: Int { bytes.endIndex - position }

        mutating func byte(_ what: String) throws(MatrixHistoryCodecError) -> UInt8 {
            guard position < bytes.endIndex else { throw .truncated(what: what, offset: offset) }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func varint(_ what: String) throws(MatrixHistoryCodecError) -> UInt64 {
            let at = offset
            var v: UInt64 = 0
            for shift in stride(from: 0 as UInt64, to: 70, by: 7) {
                let b = try byte(what)
                guard shift < 63 || b <= 1 else { throw .invalid(what: "\(what) (varint over 64 bits)", offset: at) }
                v |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return v }
            }
            throw .invalid(what: "\(what) (varint over 64 bits)", offset: at)
        }

        /// A count of items taking at least `minimumBytesEach` bytes each: never more than the
        /// bytes left allow, so no input makes the decoder reserve more than it holds.
        mutating func count(_ what: String, minimumBytesEach: Int) throws(MatrixHistoryCodecError) -> Int {
            let at = offset
            let n = try varint(what)
            guard n <= UInt64(left / minimumBytesEach) else { throw .invalid(what: "\(what) \(n) (only \(left) bytes left)", offset: at) }
            return Int(n)
        }

        mutating func key(_ what: String) throws(MatrixHistoryCodecError) -> [UInt8] {
            let at = offset
            let n = try varint(what)
            guard n <= UInt64(MatrixHistoryCodec.maxKeyLength) else { throw .invalid(what: "\(what) length \(n)", offset: at) }
            guard n <= UInt64(left) else { throw .truncated(what: what, offset: at) }
            defer { position += Int(n) }
            return Array(bytes[position..<(position + Int(n))])
        }

        mutating func counts(_ what: String) throws(MatrixHistoryCodecError) -> OpCounts {
            OpCounts(reads: try varint(what), writes: try varint(what), readBytes: try varint(what), writeBytes: try varint(what))
        }
    }
}

/// Per-counter sums that say when one would pass 64 bits.
struct CheckedTotals {
    var sums = OpCounts()

    mutating func add(_ c: OpCounts) -> Bool {
        let r = sums.reads.addingReportingOverflow(c.reads), w = sums.writes.addingReportingOverflow(c.writes)
        let rb = sums.readBytes.addingReportingOverflow(c.readBytes), wb = sums.writeBytes.addingReportingOverflow(c.writeBytes)
        guard !(r.overflow || w.overflow || rb.overflow || wb.overflow) else { return false }
        sums = OpCounts(reads: r.partialValue, writes: w.partialValue, readBytes: rb.partialValue, writeBytes: wb.partialValue)
        return true
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`), table-driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
