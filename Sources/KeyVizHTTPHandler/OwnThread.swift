import Foundation

/// Runs work that has to wait in the kernel (a socket `poll`, joining libmicrohttpd's thread)
/// on a thread started for it, and resumes the awaiting task when it ends: async callers never
/// block a cooperative thread or an event loop, and the only thread that waits is one this
/// library started for that purpose.
package enum OwnThread {
    package static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
            let thread = Thread { done.resume(returning: body()) }
            thread.name = "keyviz-io"
            thread.start()
        }
    }
}
