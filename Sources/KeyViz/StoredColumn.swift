/// A complete column as the history keeps it: route references into the history's
/// ``RouteTable`` and each counter in its own ``CountColumn``, 20 bytes per entry while the
/// counts fit 32 bits (a ``MatrixColumn`` entry took 64), 16 when the column shares its
/// references with its neighbour (dense traffic, see ``sharesRefs(with:)``).
struct StoredColumn: Sendable {
    var unixMs: Int64
    /// `refs[i]` is the route of entry `i` of every counter.
    var refs: [UInt32]
    var reads: CountColumn
    var writes: CountColumn
    var readBytes: CountColumn
    var writeBytes: CountColumn
    var unrouted: OpCounts

    init(unixMs: Int64, refs: [UInt32], counts: [OpCounts], unrouted: OpCounts) {
        self.unixMs = unixMs
        self.refs = refs
        reads = CountColumn(counts.map(\.reads))
        writes = CountColumn(counts.map(\.writes))
        readBytes = CountColumn(counts.map(\.readBytes))
        writeBytes = CountColumn(counts.map(\.writeBytes))
        self.unrouted = unrouted
    }

    /// A column appended entry by entry (``append(ref:counts:)``), sized once for `capacity`.
    init(unixMs: Int64, reservingCapacity capacity: Int) {
        self.unixMs = unixMs
        refs = []
        refs.reserveCapacity(capacity)
        reads = CountColumn(reservingCapacity: capacity)
        writes = CountColumn(reservingCapacity: capacity)
        readBytes = CountColumn(reservingCapacity: capacity)
        writeBytes = CountColumn(reservingCapacity: capacity)
        unrouted = OpCounts()
    }

    mutating func append(ref: UInt32, counts c: OpCounts) {
        refs.append(ref)
        reads.append(c.reads)
        writes.append(c.writes)
        readBytes.append(c.readBytes)
        writeBytes.append(c.writeBytes)
    }

    var count: Int { refs.count }

    /// Whether this column's references are the very array of `other`'s (not merely equal):
    /// columns of one run of dense traffic share it, and a snapshot then sums their values
    /// position by position and resolves each reference once per run, not once per cell.
    func sharesRefs(with other: StoredColumn) -> Bool {
        guard !refs.isEmpty, refs.count == other.refs.count else { return false }
        return refs.withUnsafeBufferPointer { a in other.refs.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
    }

    func counts(at i: Int) -> OpCounts {
        OpCounts(reads: reads[i], writes: writes[i], readBytes: readBytes[i], writeBytes: writeBytes[i])
    }

    subscript(series: Series) -> CountColumn {
        switch series {
        case .reads: reads
        case .writes: writes
        case .readBytes: readBytes
        case .writeBytes: writeBytes
        }
    }

    /// Every entry's counters summed, routed only.
    var routedTotal: OpCounts {
        var t = OpCounts()
        for i in 0..<count { t += counts(at: i) }
        return t
    }

    /// Storage bytes of its entries (references and counters; shared references counted here
    /// too: ``TieredHistory/entryStorage`` counts them once).
    var entryBytes: Int {
        count * (4 + reads.bytesPerEntry + writes.bytesPerEntry + readBytes.bytesPerEntry + writeBytes.bytesPerEntry)
    }
}

/// A column being summed (a coarser tier's pending window, or a coarser view's window in a
/// snapshot): per route one entry, found through `position`, a dense map from route reference
/// to entry (-1: none) that is reset entry by entry when the sum is taken.
struct ColumnSum {
    var unixMs: Int64
    var refs: [UInt32] = []
    var counts: [OpCounts] = []
    var unrouted = OpCounts()
    private var position: [Int32] = []

    init(unixMs: Int64) {
        self.unixMs = unixMs
    }

    var isEmpty: Bool { refs.isEmpty && unrouted.isZero }

    /// Adds `column` in. Returns, through `added`, each reference that got a new entry (so a
    /// caller that counts uses can retain it).
    mutating func add(_ column: StoredColumn, added: (UInt32) -> Void = { _ in }) {
        unrouted += column.unrouted
        for i in 0..<column.count {
            let r = Int(column.refs[i])
            if r >= position.count { position.append(contentsOf: repeatElement(-1, count: max(r + 1, position.count * 2) - position.count)) }
            let p = position[r]
            if p >= 0 {
                counts[Int(p)] += column.counts(at: i)
            } else {
                position[r] = Int32(refs.count)
                refs.append(column.refs[i])
                counts.append(column.counts(at: i))
                added(column.refs[i])
            }
        }
    }

    /// The sum as a stored column; this sum is left empty, stamped `unixMs`, ready for reuse.
    mutating func take(restampedTo next: Int64? = nil) -> StoredColumn {
        for r in refs { position[Int(r)] = -1 }
        let column = StoredColumn(unixMs: unixMs, refs: refs, counts: counts, unrouted: unrouted)
        refs = []
        counts = []
        unrouted = OpCounts()
        if let next { unixMs = next }
        return column
    }

    /// The sum as a stored column, without emptying it (a saved pending window).
    var column: StoredColumn { StoredColumn(unixMs: unixMs, refs: refs, counts: counts, unrouted: unrouted) }
}
