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
