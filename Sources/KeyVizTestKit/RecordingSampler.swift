public import KeyViz
import Synchronization

/// A `Sampler` that records every call, for tests of a host's wiring.
///
/// Thread-safe; each call is appended under a lock, so it is far slower than a real sampler
/// and belongs in tests only. It also records catalogs it is told about.
public final class RecordingSampler: Sampler {
    /// One recorded `observe` call.
    public struct Observation: Sendable, Hashable, CustomStringConvertible {
        public var route: RouteID
        public var op: Op
        public var keyLength: Int
        public var valueLength: Int

        public init(route: RouteID, op: Op, keyLength: Int, valueLength: Int) {
            self.route = route
            self.op = op
            self.keyLength = keyLength
            self.valueLength = valueLength
        }

        public var description: String { "(\(route), \(op), \(keyLength), \(valueLength))" }
    }

    private let calls = Mutex<[Observation]>([])
    private let keyCalls = Mutex<[[UInt8]]>([])
    private let catalogs = Mutex<[RouteCatalog]>([])

    public init() {}

    public func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int) {
        calls.withLock { $0.append(Observation(route: route, op: op, keyLength: keyLength, valueLength: valueLength)) }
    }

    /// Records the observation and, separately, the key bytes (see ``observedKeys``).
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int) {
        keyCalls.withLock { $0.append(Array(key)) }
        observe(route: route, op: op, keyLength: key.count, valueLength: valueLength)
    }

    public func apply(_ catalog: RouteCatalog) {
        catalogs.withLock { $0.append(catalog) }
    }

    /// Every observation so far, in call order.
    public var observations: [Observation] { calls.withLock { $0 } }

    /// The keys of every key-carrying observation so far, in call order.
    public var observedKeys: [[UInt8]] { keyCalls.withLock { $0 } }

    /// Every catalog applied so far, in order.
    public var appliedCatalogs: [RouteCatalog] { catalogs.withLock { $0 } }

    /// Forgets recorded observations.
    public func reset() {
        calls.withLock { $0.removeAll() }
        keyCalls.withLock { $0.removeAll() }
    }
}
