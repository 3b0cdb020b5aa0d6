public import KeyViz
import Synchronization

/// One shard group as seen from this node: its store and whether this node leads it.
///
/// Leadership and the lease are plain state here (set by the host or a test); a real system
/// would drive them from consensus. Linearizable reads need leadership; lease reads also need
/// an unexpired lease.
public final class ShardGroup: Sendable {
    public let id: ShardGroupID
    public let store: MVCCStore
    private let now: @Sendable () -> Int64
    private struct Leadership {
        var isLeader: Bool
        var leaseUntilMs: Int64
    }
    private let leadership: Mutex<Leadership>

    /// - Parameters:
    ///   - id: the group's id, as route catalogs name it.
    ///   - isLeader: whether this node leads the group (linearizable reads and writes need it).
    ///   - leaseUntilMs: the leader lease's end, Unix milliseconds (lease reads need it unexpired).
    ///   - retainedVersions: versions the group's store keeps per key (at least 1).
    ///   - now: the clock, Unix milliseconds (injectable for tests).
    public init(id: ShardGroupID, isLeader: Bool = true, leaseUntilMs: Int64 = .max, retainedVersions: Int = 8,
                now: @escaping @Sendable () -> Int64 = UnixTime.nowMilliseconds) {
        self.id = id
        self.store = MVCCStore(retainedVersions: retainedVersions)
        self.now = now
        leadership = Mutex(Leadership(isLeader: isLeader, leaseUntilMs: leaseUntilMs))
    }

    public var isLeader: Bool { leadership.withLock { $0.isLeader } }

    public func setLeader(_ leader: Bool) { leadership.withLock { $0.isLeader = leader } }

    public func setLease(untilMs: Int64) { leadership.withLock { $0.leaseUntilMs = untilMs } }

    /// Throws unless this node leads the group.
    public func verifyLeader() throws(ShardKVError) {
        guard isLeader else { throw .notLeader(id) }
    }

    /// Throws unless this node leads the group with a lease valid now.
    public func verifyLease() throws(ShardKVError) {
        let (leader, until) = leadership.withLock { ($0.isLeader, $0.leaseUntilMs) }
        guard leader else { throw .notLeader(id) }
        guard now() < until else { throw .leaseExpired(id) }
    }
}
