/// The four counters KeyViz keeps per route, bucket or column: operations and bytes per op.
public struct OpCounts: Sendable, Hashable, CustomStringConvertible {
    public var reads: UInt64
    public var writes: UInt64
    public var readBytes: UInt64
    public var writeBytes: UInt64

    public init(reads: UInt64 = 0, writes: UInt64 = 0, readBytes: UInt64 = 0, writeBytes: UInt64 = 0) {
        self.reads = reads
        self.writes = writes
        self.readBytes = readBytes
        self.writeBytes = writeBytes
    }

    public static let zero = OpCounts()

    public var isZero: Bool { reads | writes | readBytes | writeBytes == 0 }

    /// The value of one series.
    public subscript(series: Series) -> UInt64 {
        get {
            switch series {
            case .reads: reads
            case .writes: writes
            case .readBytes: readBytes
            case .writeBytes: writeBytes
            }
        }
        set {
            switch series {
            case .reads: reads = newValue
            case .writes: writes = newValue
            case .readBytes: readBytes = newValue
            case .writeBytes: writeBytes = newValue
            }
        }
    }

    /// Records one observation, the way a sampler's counters do.
    package mutating func record(op: Op, bytes: UInt64) {
        switch op {
        case .read:
            reads &+= 1
            readBytes &+= bytes
        case .write:
            writes &+= 1
            writeBytes &+= bytes
        }
    }

    public static func + (lhs: OpCounts, rhs: OpCounts) -> OpCounts {
        OpCounts(reads: lhs.reads &+ rhs.reads, writes: lhs.writes &+ rhs.writes,
                 readBytes: lhs.readBytes &+ rhs.readBytes, writeBytes: lhs.writeBytes &+ rhs.writeBytes)
    }

    public static func += (lhs: inout OpCounts, rhs: OpCounts) { lhs = lhs + rhs }

    /// Counter by counter difference (wrapping: callers subtract an earlier value of the same
    /// cumulative counters).
    public static func - (lhs: OpCounts, rhs: OpCounts) -> OpCounts {
        OpCounts(reads: lhs.reads &- rhs.reads, writes: lhs.writes &- rhs.writes,
                 readBytes: lhs.readBytes &- rhs.readBytes, writeBytes: lhs.writeBytes &- rhs.writeBytes)
    }

    /// The total operations of both kinds, used to rank activity.
    public var operations: UInt64 { reads &+ writes }

    public var description: String {
        "reads=\(reads) writes=\(writes) read_bytes=\(readBytes) write_bytes=\(writeBytes)"
    }
}
