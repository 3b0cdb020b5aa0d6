#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Keeps the sockets of answered-then-closed connections open a little longer, reading and
/// discarding what their clients still send, so that closing does not reset the connection
/// under the answer.
///
/// A request refused before it was read to the end (a head over the connection memory, say)
/// leaves the rest of it unread. Closing a socket with unread bytes, or while the client is
/// still sending, makes the kernel send a reset; a client that is still writing then fails with
/// a broken pipe and never reads the 431 that was sent before it (curl over TLS did so for 4
/// requests in 200). Like a web server's lingering close: when libmicrohttpd is about to close
/// such a socket, a duplicate of it is kept here, its sending side ended (the answer is followed
/// by a FIN), and it is read until the client closes, for at most `seconds` and `maxBytes`;
/// past either, or beyond `capacity` sockets at once, the socket is reset as before.
///
/// The reading happens on the server's deadline thread (``drainReady()``, every tick): the
/// close notification comes on libmicrohttpd's accepting thread, which must not wait.
final class LingeringClose: Sendable {
    private struct Socket {
        var fd: Int32
        var until: Double
        var discarded = 0
    }

    let seconds: Double
    let maxBytes: Int
    let capacity: Int
    private let sockets = Mutex<[Socket]>([])

    init(seconds: Double = 2, maxBytes: Int = 1 << 20, capacity: Int = 256) {
        self.seconds = seconds
        self.maxBytes = maxBytes
        self.capacity = capacity
    }

    /// Takes over a duplicate of `fd`, which its owner closes right after. Returns false (and
    /// keeps nothing) when `capacity` sockets linger already or the duplicate fails.
    @discardableResult
    func adopt(_ fd: Int32) -> Bool {
        let until = monotonicSeconds() + seconds
        return sockets.withLock { all in
            guard all.count < capacity else { return false }
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else { return false }
            shutdown(copy, Int32(SHUT_WR))
            all.append(Socket(fd: copy, until: until))
            return true
        }
    }

    /// Reads what is waiting on every lingering socket; closes those whose client closed and
    /// resets those past their time or byte bound.
    func drainReady() {
        let now = monotonicSeconds()
        sockets.withLock { all in
            guard !all.isEmpty else { return }
            var scratch = [UInt8](repeating: 0, count: 16 * 1024)
            var kept: [Socket] = []
            next: for var s in all {
                while s.discarded <= maxBytes {
                    let n = scratch.withUnsafeMutableBytes { recv(s.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if n > 0 { s.discarded += n; continue }
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 && errno == EAGAIN { break }
                    close(s.fd)              // the client closed (or reset): nothing left to protect
                    continue next
                }
                if now < s.until && s.discarded <= maxBytes { kept.append(s) } else { Self.reset(s.fd) }
            }
            all = kept
        }
    }

    /// Resets every lingering socket (the server is stopping).
    func resetAll() {
        sockets.withLock { all in
            for s in all { Self.reset(s.fd) }
            all.removeAll()
        }
    }

    var count: Int { sockets.withLock { $0.count } }

    private static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }
}
