import Dispatch
import Foundation
import Synchronization

/// Long-lived worker threads that run one timed job at a time, as a host's worker threads are
/// long-lived (each keeps its KeyViz thread stripe for the whole run, like a real host's).
///
/// `run` starts the job on the first `threads` workers behind a spin barrier, so they begin
/// together, and returns the wall time from the first start to the last end.
/// `@unchecked Sendable`: `job` and the time slots are written by the caller before the
/// workers are signalled and read by it after they signal back (the semaphores order them).
final class WorkerPool: @unchecked Sendable {
    let size: Int
    private let go: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private let arrived = Atomic<Int>(0)
    private var participants = 0
    private var job: (@Sendable (Int) -> Void)?
    private let starts: UnsafeMutablePointer<UInt64>
    private let ends: UnsafeMutablePointer<UInt64>

    init(size: Int) {
        self.size = size
        go = (0..<size).map { _ in DispatchSemaphore(value: 0) }
        starts = .allocate(capacity: size * 16)
        ends = .allocate(capacity: size * 16)
        for t in 0..<size {
            let thread = Thread { [self] in loop(t) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func loop(_ t: Int) {
        while true {
            go[t].wait()
            arrived.wrappingAdd(1, ordering: .acquiringAndReleasing)
            while arrived.load(ordering: .acquiring) < participants {}
            starts[t * 16] = DispatchTime.now().uptimeNanoseconds
            job!(t)
            ends[t * 16] = DispatchTime.now().uptimeNanoseconds
            done.signal()
        }
    }

    /// Runs `body(thread)` on `threads` workers at once; returns the wall time in nanoseconds.
    func run(threads: Int, _ body: @escaping @Sendable (Int) -> Void) -> UInt64 {
        precondition(threads >= 1 && threads <= size)
        job = body
        participants = threads
        arrived.store(0, ordering: .releasing)
        for t in 0..<threads { go[t].signal() }
        for _ in 0..<threads { done.wait() }
        let first = (0..<threads).map { starts[$0 * 16] }.min()!
        let last = (0..<threads).map { ends[$0 * 16] }.max()!
        return last - first
    }
}
