#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KeyViz
import KeyVizHTTPHandler

/// A small HTTP/1.0 client for the cluster fan-out: one connection per request,
/// `Connection: close`, plain HTTP only (no TLS), optional basic auth. Every wait is a `poll`
/// bounded by the request's deadline, on a thread started for the request (never the caller's
/// or the cooperative pool's), and the read stops once the body exceeds its cap, so a slow or
/// huge peer costs at most the timeout and the cap.
public struct HTTPPeerFetcher: PeerFetcher {
    /// `Authorization` header value sent to every peer (`Basic …`), or nil.
    public var authorization: String?

    public init(basicAuth: (user: String, password: String)? = nil) {
        authorization = basicAuth.map { "Basic " + Data("\($0.user):\($0.password)".utf8).base64EncodedString() }
    }

    public func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError> {
        await OwnThread.run { fetch(peer, path: path, timeout: timeout, maxBodyBytes: maxBodyBytes) }
    }

    private func fetch(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) -> Result<PeerResponse, PeerFetchError> {
        let deadline = Self.nowMs() + timeout.milliseconds(within: 1...3_600_000)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(peer.host, String(peer.port), &hints, &list)
        guard rc == 0, list != nil else { return .failure(PeerFetchError("cannot resolve \(peer.host): \(String(cString: gai_strerror(rc)))")) }
        defer { freeaddrinfo(list) }
        // Every address in turn (localhost may resolve to ::1 first while the peer listens on
        // 127.0.0.1): the first that connects is asked; the errors of the others are reported.
        var errors: [String] = []
        var next = list
        while let a = next {
            next = a.pointee.ai_next
            switch connect(a.pointee, until: deadline) {
            case .failure(let e): errors.append(e.message)
            case .success(let fd):
                defer { close(fd) }
                return exchange(fd, peer: peer, path: path, until: deadline, maxBodyBytes: maxBodyBytes)
            }
        }
        return .failure(PeerFetchError(errors.count == 1 ? errors[0] : "no address answered: " + errors.joined(separator: "; ")))
    }

    private func connect(_ address: addrinfo, until deadline: Int64) -> Result<Int32, PeerFetchError> {
        let fd = socket(address.ai_family, address.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), address.ai_protocol)
        guard fd >= 0 else { return .failure(PeerFetchError("socket: \(Self.errnoText())")) }
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let e = PeerFetchError("connect: \(Self.errnoText())")
                close(fd)
                return .failure(e)
            }
            if let e = wait(fd, for: Int16(POLLOUT), until: deadline, doing: "connect") {
                close(fd)
                return .failure(e)
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            guard err == 0 else {
                close(fd)
                return .failure(PeerFetchError("connect: \(String(cString: strerror(err)))"))
            }
        }
        return .success(fd)
    }

    /// Sends the request and reads the answer through ``PeerResponseReader``, which owns every
    /// check of the peer's framing.
    private func exchange(_ fd: Int32, peer: PeerAddress, path: String, until deadline: Int64, maxBodyBytes: Int) -> Result<PeerResponse, PeerFetchError> {
        var request = "GET \(path) HTTP/1.0\r\nHost: \(peer)\r\nAccept: application/json\r\nConnection: close\r\n"
        if let authorization { request += "Authorization: \(authorization)\r\n" }
        request += "\r\n"
        var out = Array(request.utf8)[...]
        while !out.isEmpty {
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { out = out.dropFirst(n); continue }
            guard n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return .failure(PeerFetchError("send: \(Self.errnoText())")) }
            if let e = wait(fd, for: Int16(POLLOUT), until: deadline, doing: "send") { return .failure(e) }
        }
        var reader = PeerResponseReader(maxBodyBytes: maxBodyBytes)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            let step: PeerResponseReader.Step
            if n == 0 {
                step = reader.finish()
            } else if n < 0 {
                guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return .failure(PeerFetchError("recv: \(Self.errnoText())")) }
                if let e = wait(fd, for: Int16(POLLIN), until: deadline, doing: "the answer") { return .failure(e) }
                continue
            } else {
                step = reader.append(buffer[0..<n])
            }
            switch step {
            case .needMore: continue
            case .done(let r): return .success(r)
            case .failed(let e): return .failure(e)
            }
        }
    }

    /// Polls for `events` until `deadline`; nil when ready, else the timeout or error.
    private func wait(_ fd: Int32, for events: Int16, until deadline: Int64, doing what: String) -> PeerFetchError? {
        while true {
            let left = deadline - Self.nowMs()
            if left <= 0 { return PeerFetchError("timed out waiting for \(what)") }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(left, 60_000)))
            if r > 0 { return nil }
            if r < 0 && errno != EINTR { return PeerFetchError("poll: \(Self.errnoText())") }
        }
    }

    private static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
