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

    /// Runs `body` on a thread started for it, and returns at once: for a wait no one awaits
    /// (a server let go without a stop).
    package static func detach(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { body() }
        thread.name = "keyviz-io"
        thread.start()
    }
}
