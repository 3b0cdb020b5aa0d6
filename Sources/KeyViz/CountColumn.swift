/// One counter of one history column, for every route in it, in the narrowest width that holds
/// every value: 4 bytes per entry while all fit in 32 bits (a column of a 20 ms or 1 s step
/// almost always does), else 8.
enum CountColumn: Sendable {
    case narrow([UInt32])
    case wide([UInt64])

    init(_ values: [UInt64]) {
        if values.allSatisfy({ $0 <= UInt64(UInt32.max) }) {
            self = .narrow(values.map { UInt32(truncatingIfNeeded: $0) })
        } else {
            self = .wide(values)
        }
    }

    /// An empty narrow column with room for `capacity` entries (a flush knows its count).
    init(reservingCapacity capacity: Int) {
        var v: [UInt32] = []
        v.reserveCapacity(capacity)
        self = .narrow(v)
    }

    /// Appends one value, widening the column the first time one does not fit 32 bits. Built
    /// this way a flush allocates the column once, with no full-width copy to free afterwards
    /// (freed temporaries of 1 M entries stayed resident in the allocator's heap).
    mutating func append(_ value: UInt64) {
        switch self {
        case .narrow(var v):
            self = .narrow([])          // v is the only reference while it grows
            if value <= UInt64(UInt32.max) {
                v.append(UInt32(truncatingIfNeeded: value))
                self = .narrow(v)
            } else {
                var w = [UInt64]()
                w.reserveCapacity(v.capacity)
                w.append(contentsOf: v.lazy.map(UInt64.init))
                v = []
                w.append(value)
                self = .wide(w)
            }
        case .wide(var w):
            self = .wide([])
            w.append(value)
            self = .wide(w)
        }
    }

    var count: Int {
        switch self {
        case .narrow(let v): v.count
        case .wide(let v): v.count
        }
    }

    subscript(i: Int) -> UInt64 {
        switch self {
        case .narrow(let v): UInt64(v[i])
        case .wide(let v): v[i]
        }
    }

    /// Adds each value into `sums[refs[i]]`: the snapshot's inner loop, on raw buffers.
    func add(into sums: UnsafeMutableBufferPointer<UInt64>, at refs: UnsafeBufferPointer<UInt32>) {
        switch self {
        case .narrow(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count { sums[Int(refs[i])] &+= UInt64(v[i]) }
            }
        case .wide(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count { sums[Int(refs[i])] &+= v[i] }
            }
        }
    }

    /// Adds value `i` into `sums[i]`: columns sharing one reference array are summed position
    /// by position (sequential, vectorizable), then scattered once.
    func addPositionwise(into sums: UnsafeMutableBufferPointer<UInt64>) {
        switch self {
        case .narrow(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count { sums[i] &+= UInt64(v[i]) }
            }
        case .wide(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count { sums[i] &+= v[i] }
            }
        }
    }

    /// Adds value `i` into `cells[rows[i]]` where that row is not negative (`rows`: each
    /// entry's row, resolved once for columns sharing one reference array).
    func add(into cells: UnsafeMutableBufferPointer<UInt64>, rows: UnsafeBufferPointer<Int32>) {
        switch self {
        case .narrow(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count {
                    let s = rows[i]
                    if s >= 0 { cells[Int(s)] &+= UInt64(v[i]) }
                }
            }
        case .wide(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count {
                    let s = rows[i]
                    if s >= 0 { cells[Int(s)] &+= v[i] }
                }
            }
        }
    }

    /// Adds each value into `cells[slot[refs[i]]]` where that slot is not negative.
    func add(into cells: UnsafeMutableBufferPointer<UInt64>, slots: UnsafeBufferPointer<Int32>, at refs: UnsafeBufferPointer<UInt32>) {
        switch self {
        case .narrow(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count {
                    let s = slots[Int(refs[i])]
                    if s >= 0 { cells[Int(s)] &+= UInt64(v[i]) }
                }
            }
        case .wide(let v):
            v.withUnsafeBufferPointer { v in
                for i in 0..<v.count {
                    let s = slots[Int(refs[i])]
                    if s >= 0 { cells[Int(s)] &+= v[i] }
                }
            }
        }
    }

    /// Bytes of storage per entry.
    var bytesPerEntry: Int {
        switch self {
        case .narrow: 4
        case .wide: 8
        }
    }
}
