import Synchronization

/// An in-memory multi-version store: writes are kept with their timestamps, and a read sees
/// the newest version at or before its read timestamp.
///
/// Old versions are collected as new ones arrive: each key keeps its newest
/// ``retainedVersions`` versions, so a hot key costs bounded memory and constant time per write.
public final class MVCCStore: Sendable {
    /// Versions kept per key; reads older than the oldest kept version see nothing.
    public let retainedVersions: Int

    private struct Version {
        var timestamp: UInt64
        var value: [UInt8]?   // nil is a tombstone
    }

    private let versions = Mutex<[[UInt8]: [Version]]>([:])

    public init(retainedVersions: Int = 8) {
        self.retainedVersions = max(1, retainedVersions)
    }

    public func put(_ key: [UInt8], _ value: [UInt8], at timestamp: UInt64) {
        write(key, Version(timestamp: timestamp, value: value))
    }

    public func delete(_ key: [UInt8], at timestamp: UInt64) {
        write(key, Version(timestamp: timestamp, value: nil))
    }

    /// The value of `key` as of `timestamp`, nil when absent or deleted.
    public func get(_ key: [UInt8], at timestamp: UInt64) -> [UInt8]? {
        versions.withLock { all in
            guard let list = all[key] else { return nil }
            // Versions are kept sorted by timestamp; find the newest <= timestamp.
            var lo = 0, hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if list[mid].timestamp <= timestamp { lo = mid + 1 } else { hi = mid }
            }
            return lo == 0 ? nil : list[lo - 1].value
        }
    }

    /// Number of keys with at least one version.
    public var keyCount: Int { versions.withLock { $0.count } }

    /// Every key with at least one version, in key order (for checks and tests: O(n log n)).
    public var keys: [[UInt8]] {
        versions.withLock { Array($0.keys) }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Forgets every version of every key in `[start, end)` (an empty `end` is +infinity): the
    /// store stops holding a range its group no longer serves. Returns the number of keys removed.
    @discardableResult
    public func removeRange(start: [UInt8], end: [UInt8]) -> Int {
        versions.withLock { all in
            let doomed = all.keys.filter { k in
                !k.lexicographicallyPrecedes(start) && (end.isEmpty || k.lexicographicallyPrecedes(end))
            }
            for k in doomed { all[k] = nil }
            return doomed.count
        }
    }

    private func write(_ key: [UInt8], _ version: Version) {
        let keep = retainedVersions
        versions.withLock { all in
            // Mutated in place: no copy of the version list per write.
            all[key, default: []].append(version)
            all[key]!.sort { $0.timestamp < $1.timestamp }   // already sorted unless writes raced: O(n) check
            if all[key]!.count > keep { all[key]!.removeFirst(all[key]!.count - keep) }
        }
    }
}

