import KeyViz
import Synchronization

// The measured loops. Generic over the sampler and defined in this module, so they are
// specialized here exactly as a host's own call site would be; `@inline(never)` keeps each a
// separate function, the same code whether timed or counted under callgrind. One observation
// in four is a write; 16-byte keys, 100-byte values.

private let key = [UInt8](repeating: 0x6b, count: 16)

@inline(never)
func observeLoop<S: Sampler>(_ sampler: S, _ ids: UnsafeBufferPointer<RouteID>, from start: Int, count: Int) {
    let mask = ids.count - 1
    for i in start..<(start &+ count) {
        sampler.observe(route: ids[i & mask], op: i & 3 == 0 ? .write : .read, keyLength: 16, valueLength: 100)
    }
}

@inline(never)
func observeKeyedLoop<S: Sampler>(_ sampler: S, _ ids: UnsafeBufferPointer<RouteID>, from start: Int, count: Int) {
    let mask = ids.count - 1
    for i in start..<(start &+ count) {
        sampler.observe(route: ids[i & mask], op: i & 3 == 0 ? .write : .read, key: key, valueLength: 100)
    }
}

/// The ceiling for any striped counter: each thread adds to its own atomic, 128 bytes from the
/// next (never a shared cache line), with nothing else in the loop.
/// `@unchecked Sendable`: a `let` pointer to atomics only, never freed.
final class PaddedAtomics: @unchecked Sendable {
    private let base: UnsafeMutablePointer<Atomic<UInt64>>
    init(threads: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 128 * threads, alignment: 128)
        base = raw.bindMemory(to: Atomic<UInt64>.self, capacity: 16 * threads)
        for i in 0..<(16 * threads) { (base + i).initialize(to: Atomic(0)) }
    }

    @inline(never)
    func addLoop(thread: Int, count: Int) {
        let atomic = base + thread * 16
        for _ in 0..<count { atomic[0].wrappingAdd(1, ordering: .relaxed) }
    }
}
