/// Writes the parts of a ``MatrixHistoryCodec`` file in their order into one buffer that starts
/// with room for the header, filled in by ``finish()``: the payload is never copied, and a
/// caller streams columns in from wherever it keeps them (a ``MatrixHistory``, or the sampler's
/// own tiers with no column materialized).
struct MatrixHistoryWriter {
    private var out: [UInt8] = []

    /// `payloadBytes`: about how large the payload will be (the buffer is sized once).
    init(reservingCapacity payloadBytes: Int) {
        out.reserveCapacity(MatrixHistoryCodec.headerLength + max(0, payloadBytes))
        out.append(contentsOf: repeatElement(0, count: MatrixHistoryCodec.headerLength))
    }

    mutating func routes(_ routes: some Collection<Route>) {
        MatrixHistoryCodec.varint(UInt64(routes.count), &out)
        for r in routes {
            MatrixHistoryCodec.varint(r.id.rawValue, &out)
            MatrixHistoryCodec.varint(r.group.rawValue, &out)
            MatrixHistoryCodec.varint(UInt64(r.start.count), &out); out.append(contentsOf: r.start)
            MatrixHistoryCodec.varint(UInt64(r.end.count), &out); out.append(contentsOf: r.end)
        }
    }

    mutating func tierCount(_ n: Int) { MatrixHistoryCodec.varint(UInt64(n), &out) }

    /// A tier's step and how many complete columns follow.
    mutating func tier(step: Int64, columns: Int) {
        MatrixHistoryCodec.varint(MatrixHistoryCodec.zigzag(step), &out)
        MatrixHistoryCodec.varint(UInt64(columns), &out)
    }

    /// One column: `entry(i)` gives entry `i`'s route index (in the route table written) and counts.
    @inline(__always)
    mutating func column(unixMs: Int64, unrouted: OpCounts, count: Int, _ entry: (Int) -> (index: Int, counts: OpCounts)) {
        MatrixHistoryCodec.varint(MatrixHistoryCodec.zigzag(unixMs), &out)
        MatrixHistoryCodec.counts(unrouted, &out)
        MatrixHistoryCodec.varint(UInt64(count), &out)
        for i in 0..<count {
            let (index, counts) = entry(i)
            MatrixHistoryCodec.varint(UInt64(index), &out)
            MatrixHistoryCodec.counts(counts, &out)
        }
    }

    /// Whether a tier's pending column follows (after its complete ones).
    mutating func pending(_ present: Bool) { out.append(present ? 1 : 0) }

    mutating func events(_ events: [RouteChangeEvent], index: (Route) -> Int) {
        MatrixHistoryCodec.varint(UInt64(events.count), &out)
        for e in events {
            out.append(UInt8(RouteChangeEvent.Kind.allCases.firstIndex(of: e.kind)!))
            MatrixHistoryCodec.varint(MatrixHistoryCodec.zigzag(e.unixMs), &out)
            MatrixHistoryCodec.varint(e.catalogVersion, &out)
            for (listed, count) in [(e.before, e.beforeCount), (e.after, e.afterCount)] {
                MatrixHistoryCodec.varint(UInt64(max(0, count)), &out)
                MatrixHistoryCodec.varint(UInt64(listed.count), &out)
                for r in listed { MatrixHistoryCodec.varint(UInt64(index(r)), &out) }
            }
        }
    }

    /// The file: the header (magic, version, payload length, CRC) written over the room left for it.
    consuming func finish() -> [UInt8] {
        let payload = out.count - MatrixHistoryCodec.headerLength
        var header = MatrixHistoryCodec.magic
        MatrixHistoryCodec.le(UInt64(MatrixHistoryCodec.version), 4, &header)
        MatrixHistoryCodec.le(UInt64(payload), 8, &header)
        MatrixHistoryCodec.le(UInt64(CRC32.checksum(out[MatrixHistoryCodec.headerLength...])), 4, &header)
        out.replaceSubrange(0..<MatrixHistoryCodec.headerLength, with: header)
        return out
    }
}
