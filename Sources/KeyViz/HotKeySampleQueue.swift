import Synchronization

/// Bounded per-stripe queues of sampled keys: the hand-off between the hot path (a 1-in-R
/// sample copies its key here) and the background step that feeds the sketches.
///
/// Each stripe is a fixed ring of fixed-size records allocated once, behind its own lock. A
/// producer only *tries* the lock: when another thread holds it, or the ring is full, the
/// sample is dropped and counted, so the hot path never waits and never allocates.
package final class HotKeySampleQueue: @unchecked Sendable {
    // `@unchecked`: the only state is `let` pointers to locks and atomics, allocated in init
    // and freed in deinit.

    package struct Sample: Sendable, Equatable {
        package var route: RouteID
        package var op: Op
        package var key: [UInt8]
        package var truncated: Bool
    }

    private struct Ring: ~Copyable {
        var bytes: [UInt8]
        var count = 0
    }

    /// route (8) + op (1) + truncated (1) + key length (2), padded to 16.
    private static let headerSize = 16

    package let stripeCount: Int
    private let capacity: Int
    private let maxKeyBytes: Int
    private let recordSize: Int
    private let rings: UnsafeMutablePointer<Mutex<Ring>>
    private let dropped = Atomic<UInt64>(0)

    package init(stripes: Int, capacity: Int, maxKeyBytes: Int) {
        stripeCount = stripes
        self.capacity = capacity
        self.maxKeyBytes = maxKeyBytes
        recordSize = Self.headerSize + maxKeyBytes
        rings = .allocate(capacity: stripes)
        for i in 0..<stripes {
            (rings + i).initialize(to: Mutex(Ring(bytes: [UInt8](repeating: 0, count: capacity * (Self.headerSize + maxKeyBytes)))))
        }
    }

    deinit {
        rings.deinitialize(count: stripeCount)
        rings.deallocate()
    }

    /// Samples dropped because a queue was full or busy.
    package var droppedCount: UInt64 { dropped.load(ordering: .relaxed) }

    /// Copies one sample into `stripe`'s ring, or drops it. Never blocks, never allocates.
    package func push(stripe: Int, route: RouteID, op: Op, key: UnsafeRawBufferPointer) {
        let size = recordSize, cap = capacity, maxKey = maxKeyBytes
        let stored = (rings + stripe).pointee.withLockIfAvailable { (ring: inout Ring) -> Bool in
            guard ring.count < cap else { return false }
            let length = min(key.count, maxKey)
            ring.bytes.withUnsafeMutableBytes { buffer in
                let record = buffer.baseAddress! + ring.count * size
                record.storeBytes(of: route.rawValue, as: UInt64.self)
                record.storeBytes(of: op.rawValue, toByteOffset: 8, as: UInt8.self)
                record.storeBytes(of: key.count > maxKey ? 1 : 0, toByteOffset: 9, as: UInt8.self)
                record.storeBytes(of: UInt16(length), toByteOffset: 10, as: UInt16.self)
                if length > 0 { (record + Self.headerSize).copyMemory(from: key.baseAddress!, byteCount: length) }
            }
            ring.count += 1
            return true
        }
        if stored != true { dropped.wrappingAdd(1, ordering: .relaxed) }
    }

    /// Hands every queued sample to `body` and empties the rings. Under each ring's lock its
    /// buffer is swapped with `scratch` (two pointers: producers are kept out only that long,
    /// and no byte is copied) and the samples are read from there; the key is a view into
    /// `scratch`, valid during the call only. Nothing is allocated once `scratch` is one ring's
    /// size. Returns how many samples there were.
    @discardableResult
    package func drain(scratch: inout [UInt8],
                       _ body: (_ route: RouteID, _ op: Op, _ key: UnsafeRawBufferPointer, _ truncated: Bool) -> Void) -> Int {
        let size = recordSize
        if scratch.count != capacity * size { scratch = [UInt8](repeating: 0, count: capacity * size) }
        var n = 0
        for i in 0..<stripeCount {
            let taken = (rings + i).pointee.withLock { (ring: inout Ring) -> Int in
                let count = ring.count
                if count > 0 { swap(&ring.bytes, &scratch) }
                ring.count = 0
                return count
            }
            scratch.withUnsafeBytes { buffer in
                for r in 0..<taken {
                    let record = buffer.baseAddress! + r * size
                    let length = Int(record.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
                    body(RouteID(record.loadUnaligned(as: UInt64.self)),
                         Op(rawValue: record.load(fromByteOffset: 8, as: UInt8.self)) ?? .read,
                         UnsafeRawBufferPointer(start: record + Self.headerSize, count: length),
                         record.load(fromByteOffset: 9, as: UInt8.self) != 0)
                }
            }
            n += taken
        }
        return n
    }

    /// Takes every queued sample out of every ring, as values (for tests).
    package func drain() -> [Sample] {
        var out: [Sample] = []
        let size = recordSize
        for i in 0..<stripeCount {
            (rings + i).pointee.withLock { (ring: inout Ring) in
                ring.bytes.withUnsafeBytes { buffer in
                    for r in 0..<ring.count {
                        let record = buffer.baseAddress! + r * size
                        let length = Int(record.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
                        out.append(Sample(
                            route: RouteID(record.loadUnaligned(as: UInt64.self)),
                            op: Op(rawValue: record.load(fromByteOffset: 8, as: UInt8.self)) ?? .read,
                            key: Array(UnsafeRawBufferPointer(start: record + Self.headerSize, count: length)),
                            truncated: record.load(fromByteOffset: 9, as: UInt8.self) != 0))
                    }
                }
                ring.count = 0
            }
        }
        return out
    }
}
