#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif
import Synchronization

/// A small per-thread number that spreads hot-path counter updates over stripes.
///
/// Two threads incrementing one shared atomic fight over its cache line (12–45 ns per add on a
/// 2-core VM instead of ~6). Each thread instead gets its own number on first use, handed out
/// round-robin, so the first N threads land on N different stripes; the stripes of a counter
/// are summed when it is drained. Thread-specific storage is read with `pthread_getspecific`,
/// a few instructions.
@usableFromInline
enum ThreadStripe {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key, nil)
        precondition(rc == 0, "pthread_key_create failed: \(rc)")
        return key
    }()

    private static let nextStripe = Atomic<Int>(0)

    /// This thread's stripe number (unbounded; callers mask it), read with `key` (which hot
    /// paths keep in a stored property, avoiding the lazy-global check on every call).
    @inlinable @inline(__always)
    static func current(key: pthread_key_t) -> Int {
        if let p = pthread_getspecific(key) {
            return Int(bitPattern: p) &- 1
        }
        return assign()
    }

    @usableFromInline @inline(never)
    static func assign() -> Int {
        // Sequentially consistent: ordered before this thread's first add, so a drain that reads
        // ``assigned`` after clearing a dirty bit that add set (or saw set) counts its stripe.
        let stripe = nextStripe.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: stripe &+ 1))
        return stripe
    }

    /// Stripe numbers handed out so far: threads have added only to stripes below it (masked),
    /// so a drain reads the first `min(assigned, stripes)` stripes of a slot and no more (a
    /// table counts the stripes a test preloads itself).
    static var assigned: Int { nextStripe.load(ordering: .sequentiallyConsistent) }

    /// A default stripe count: the number of online processors rounded up to a power of two,
    /// between 1 and 16.
    static var defaultCount: Int {
        let cpus = max(1, min(16, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        var n = 1
        while n < cpus { n <<= 1 }
        return n
    }
}
