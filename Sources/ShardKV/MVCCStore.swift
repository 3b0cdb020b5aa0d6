import Synchronization

/// An in-memory multi-version store: every write is kept with its timestamp, and a read sees
/// the newest version at or before its read timestamp.
public final class MVCCStore: Sendable {
    private struct Version {
        var timestamp: UInt64
        var value: [UInt8]?   // nil is a tombstone
    }

    private let versions = Mutex<[[UInt8]: [Version]]>([:])

    public init() {}

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

    private func write(_ key: [UInt8], _ version: Version) {
        versions.withLock { all in
            var list = all[key, default: []]
            if let last = list.last, last.timestamp > version.timestamp {
                let i = list.firstIndex { $0.timestamp > version.timestamp } ?? list.count
                list.insert(version, at: i)
            } else {
                list.append(version)
            }
            all[key] = list
        }
    }
}
