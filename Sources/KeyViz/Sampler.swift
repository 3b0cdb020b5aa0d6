/// The seam between a host's read/write path and KeyViz.
///
/// A host calls ``observe(route:op:keyLength:valueLength:)`` once per user-facing read or
/// write. Implementations are called from any thread at once and must never block, lock or
/// allocate: the call sits on the storage engine's hot path.
///
/// Every sampler is also a ``RouteCatalogObserver``: route ids mean nothing without the catalog
/// that defines them, so the requirement is part of the seam rather than found by a cast. A
/// sampler that keeps no per-route state implements ``RouteCatalogObserver/apply(_:)`` as an
/// empty method; a decorator forwards it to the sampler it wraps, exactly like `observe`. The
/// compiler then refuses a decorator that forgets the catalog, where a cast would silently turn
/// all traffic into unrouted counts.
///
/// Samplers stack: a decorator wraps another `Sampler` and forwards every call unchanged
/// (the Prometheus decorator is one). Bytes counted are `keyLength + valueLength`, with
/// negative lengths counted as 0.
public protocol Sampler: RouteCatalogObserver {
    func observe(route: RouteID, op: Op, keyLength: Int, valueLength: Int)

    /// The same observation with the key's bytes, for samplers that look at keys (hot-key
    /// sampling). The default forwards to ``observe(route:op:keyLength:valueLength:)``, so a
    /// sampler that only counts costs nothing more; a decorator forwards this form to its inner
    /// sampler unchanged. Hosts call this form when the key is at hand; the bytes are valid only
    /// for the call (copy what you keep).
    func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int)

    /// The key-carrying observation from a decorator that has read the calling thread's stripe
    /// already (``CallingThread``): a sampler that stripes its counters uses it instead of
    /// reading thread-specific storage again, and a decorator passes it on. The default ignores
    /// it and calls ``observe(route:op:key:valueLength:)``. Hosts never call this form.
    func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int, thread: CallingThread)
}

extension Sampler {
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int) {
        observe(route: route, op: op, keyLength: key.count, valueLength: valueLength)
    }

    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: UnsafeRawBufferPointer, valueLength: Int, thread: CallingThread) {
        observe(route: route, op: op, key: key, valueLength: valueLength)
    }

    /// Observes with the key of a byte array (the key-carrying form, without unsafe code).
    @inlinable @inline(__always)
    public func observe(route: RouteID, op: Op, key: [UInt8], valueLength: Int) {
        key.withUnsafeBytes { observe(route: route, op: op, key: $0, valueLength: valueLength) }
    }

    /// The number of bytes an observation accounts for: key plus value, negatives as 0.
    @inlinable @inline(__always)
    public static func observedBytes(keyLength: Int, valueLength: Int) -> UInt64 {
        UInt64(max(keyLength, 0)) &+ UInt64(max(valueLength, 0))
    }
}
