/// The seam between a host's read/write path and KeyViz.
///
/// A host calls ``observe(route:op:keyLength:valueLength:)`` once per user-facing read or
/// write. Implementations are called from any thread at once and must never block, lock or
/// allocate: the call sits on the storage engine's hot path.
///
/// Samplers stack: a decorator wraps another `Sampler` and forwards every call unchanged
/// (the Prometheus decorator is one). Bytes counted are `keyLength + valueLength`, with
/// negative lengths counted as 0.
public protocol Sampler: Sendable {
    func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int)
}

extension Sampler {
    /// The number of bytes an observation accounts for: key plus value, negatives as 0.
    @inline(__always)
    public static func observedBytes(keyLength: Int, valueLength: Int) -> UInt64 {
        UInt64(max(keyLength, 0)) &+ UInt64(max(valueLength, 0))
    }
}
