import Synchronization

/// At most `limit` holders at once; the next one is refused at once rather than queued, so a
/// slow render turns extra requests into fast 503s instead of a growing pile of threads.
final class ConcurrencyGate: Sendable {
    let limit: Int
    let holders = Atomic<Int>(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Runs `body` holding a place, or returns nil when all places are taken.
    func withPlace<T>(_ body: () -> T) -> T? {
        let now = holders.wrappingAdd(1, ordering: .acquiring).newValue
        defer { holders.wrappingSubtract(1, ordering: .releasing) }
        guard now <= limit else { return nil }
        return body()
    }
}

extension ConcurrencyGate {
    /// Runs `body` holding a place, or returns nil when all places are taken.
    func withPlace<T>(_ body: () async -> T) async -> T? {
        let now = holders.wrappingAdd(1, ordering: .acquiring).newValue
        defer { holders.wrappingSubtract(1, ordering: .releasing) }
        guard now <= limit else { return nil }
        return await body()
    }
}
