import Foundation

/// Runs blocking work (a peer fan-out, a Prometheus query) on a thread of its own and resumes
/// the awaiting task when it ends, so async callers never block a cooperative thread: the
/// only thread that waits is one this library started for that purpose.
package enum OwnThread {
    package static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
            let thread = Thread { done.resume(returning: body()) }
            thread.name = "keyviz-blocking"
            thread.start()
        }
    }
}
