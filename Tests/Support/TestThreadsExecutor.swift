import Foundation

/// A task executor with threads of its own, for the servers the tests start: many tests talk to
/// their server with blocking sockets from the cooperative pool, and a server answering on that
/// same pool could wait behind them. (A host in that position gives its server an executor of
/// its own the same way; see `MetricsServer.init`.) Test code, not a library: its threads wait
/// on a condition for work.
public final class TestThreadsExecutor: TaskExecutor, @unchecked Sendable {
    /// The one the tests' servers share: sixteen threads (several tests' servers render on them
    /// at once, some with slow expositions on purpose), for the life of the test process.
    public static let shared = TestThreadsExecutor(threads: 16)

    // `@unchecked`: `jobs` and `enqueued` are guarded by `ready`.
    private let ready = NSCondition()
    private var jobs: [UnownedJob] = []

    public init(threads: Int) {
        for i in 0..<threads {
            let thread = Thread { [self] in
                while true {
                    ready.lock()
                    while jobs.isEmpty { ready.wait() }
                    let job = jobs.removeFirst()
                    ready.unlock()
                    job.runSynchronously(on: asUnownedTaskExecutor())
                }
            }
            thread.name = "test-server-\(i)"
            thread.start()
        }
    }

    /// Jobs enqueued so far (a test checks that work reached this executor).
    public var enqueuedCount: Int {
        ready.lock()
        defer { ready.unlock() }
        return enqueued
    }
    private var enqueued = 0

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        ready.lock()
        enqueued += 1
        jobs.append(job)
        ready.signal()
        ready.unlock()
    }
}
