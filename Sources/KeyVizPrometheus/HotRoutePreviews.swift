import KeyViz
import Synchronization

/// The info-series key previews of the routes recently ranked hot, by route id.
///
/// A preview needs the key's hash when the key is long; hashing a 1 MB key on every scrape
/// made render cost grow with key length. Each route is previewed once while it stays hot;
/// the cache keeps at most `capacity` routes (cleared when full: hot routes change slowly).
final class HotRoutePreviews: Sendable {
    private let cache = Mutex<[RouteID: (start: String, end: String)]>([:])
    /// Key bytes hashed for previews so far (for tests).
    let hashedBytes = Atomic<Int>(0)
    let capacity = 1024

    func previews(of route: Route, seed: UInt64) -> (start: String, end: String) {
        if let hit = cache.withLock({ $0[route.id] }) { return hit }
        let start = BucketLabeler.infoPreview(route.start, hash: hash(route.start, seed: seed))
        let end = route.end.isEmpty ? "(end)" : BucketLabeler.infoPreview(route.end, hash: hash(route.end, seed: seed))
        cache.withLock { c in
            if c.count >= capacity { c.removeAll(keepingCapacity: true) }
            c[route.id] = (start, end)
        }
        return (start, end)
    }

    private func hash(_ key: [UInt8], seed: UInt64) -> UInt64 {
        guard BucketLabeler.needsHash(key, maxLength: 64) else { return 0 }
        hashedBytes.wrappingAdd(key.count, ordering: .relaxed)
        return KeyHash.hash(key, seed: seed)
    }
}
