#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Closes connections whose request exchange takes too long, headers, body and response alike.
///
/// libmicrohttpd's connection timeout is an *idle* timeout: a client trickling one byte a
/// second is never idle and would hold its connection (and, per connection, a thread) forever.
/// This tracks every connection from the moment it opens or finishes a request: if the next
/// request is not complete (its response sent) within the deadline, the socket is shut down,
/// which makes libmicrohttpd close the connection (with a reset, so a slow reader cannot keep
/// draining a full send buffer). The shutdown happens under the same lock as
/// the close notification, so it never touches a descriptor that has been closed and reused.
///
/// A new connection has a shorter deadline, `headerSeconds`, for its first request's headers:
/// clients that connect and never finish a request would otherwise each hold a connection for
/// the whole deadline, and a few hosts reconnecting so could keep every connection taken.
final class RequestDeadlines: Sendable {
    private struct Entry {
        var fd: Int32
        var waitingSince: Double?     // nil once shut down
        var headersSeen = false       // a first request's headers have been complete
        var lingers = false           // answered before its request was read: drain on close
    }

    private let entries = Mutex<[Int: Entry]>([:])
    let seconds: Double
    let headerSeconds: Double
    private let reaped = Atomic<Int>(0)

    init(seconds: Double, headerSeconds: Double) {
        self.seconds = seconds
        self.headerSeconds = min(headerSeconds, seconds)
    }

    func opened(connection: Int, fd: Int32) {
        let now = monotonicSeconds()
        entries.withLock { $0[connection] = Entry(fd: fd, waitingSince: now) }
    }

    /// The access handler's first call for a request: its headers are complete.
    func headersComplete(connection: Int) {
        entries.withLock { $0[connection]?.headersSeen = true }
    }

    /// Forgets a closing connection. Returns its socket when it is to be drained before
    /// libmicrohttpd closes it (``lingerOnClose(connection:)``, and not shut down since).
    func closed(connection: Int) -> Int32? {
        entries.withLock { all in
            guard let e = all.removeValue(forKey: connection), e.lingers, e.waitingSince != nil else { return nil }
            return e.fd
        }
    }

    /// A request was answered with an error before it was read to the end (its head too
    /// large, say): when the connection closes, what the client still sends is read and
    /// discarded first (``LingeringClose``), so the answer is not lost to a reset.
    func lingerOnClose(connection: Int) {
        entries.withLock { $0[connection]?.lingers = true }
    }

    func requestCompleted(connection: Int) {
        let now = monotonicSeconds()
        entries.withLock { $0[connection]?.waitingSince = now }
    }

    /// A request ended without being served to the end (libmicrohttpd's own idle timeout, an
    /// error, the client leaving): its socket will be reset when closed, so what is still
    /// queued for a slow reader is dropped rather than trickled out after the connection is gone.
    func abandoned(connection: Int) {
        entries.withLock { all in
            if let fd = all[connection]?.fd { Self.resetOnClose(fd) }
        }
    }

    /// Linger 0: when libmicrohttpd closes the socket, the kernel drops what is still queued
    /// and resets, instead of trickling a full send buffer out to a slow reader for minutes.
    private static func resetOnClose(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    /// Shuts down the connections past their deadline; returns how many, and how many of
    /// them were new connections past the header deadline.
    @discardableResult
    func reap() -> (closed: Int, withoutHeaders: Int) {
        let now = monotonicSeconds()
        return entries.withLock { all in
            var closed = 0, withoutHeaders = 0
            for (key, e) in all {
                guard let since = e.waitingSince, now - since > (e.headersSeen ? seconds : headerSeconds) else { continue }
                reaped.wrappingAdd(1, ordering: .relaxed)     // counted before the peer can see it
                Self.resetOnClose(e.fd)
                shutdown(e.fd, Int32(SHUT_RDWR))
                all[key]?.waitingSince = nil
                closed += 1
                if !e.headersSeen { withoutHeaders += 1 }
            }
            return (closed, withoutHeaders)
        }
    }

    var reapedCount: Int { reaped.load(ordering: .relaxed) }
    var openCount: Int { entries.withLock { $0.count } }
}
