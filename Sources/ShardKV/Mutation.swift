/// One write in a ``ShardedCoordinator/dispatch(_:)`` batch.
public enum Mutation: Sendable, Hashable {
    case put(key: [UInt8], value: [UInt8])
    case delete(key: [UInt8])

    public var key: [UInt8] {
        switch self {
        case .put(let key, _), .delete(let key): key
        }
    }

    /// Bytes of value this mutation carries (0 for a delete).
    public var valueLength: Int {
        switch self {
        case .put(_, let value): value.count
        case .delete: 0
        }
    }
}
