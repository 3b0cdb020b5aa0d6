#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A small blocking HTTP/1.0 client for the cluster fan-out: one connection per request,
/// `Connection: close`, plain HTTP only (no TLS), optional basic auth. Every wait is a `poll`
/// bounded by the request's deadline, and the read stops once the body exceeds its cap, so a
/// slow or huge peer costs at most the timeout and the cap.
public struct HTTPPeerFetcher: PeerFetcher {
    /// `Authorization` header value sent to every peer (`Basic …`), or nil.
    public var authorization: String?

    public init(basicAuth: (user: String, password: String)? = nil) {
        authorization = basicAuth.map { "Basic " + Data("\($0.user):\($0.password)".utf8).base64EncodedString() }
    }

    public func get(_ peer: PeerAddress, path: String, timeoutMs: Int, maxBodyBytes: Int) -> Result<PeerResponse, PeerFetchError> {
        let deadline = Self.nowMs() + Int64(max(1, timeoutMs))
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(peer.host, String(peer.port), &hints, &list)
        guard rc == 0, let first = list else { return .failure(PeerFetchError("cannot resolve \(peer.host): \(String(cString: gai_strerror(rc)))")) }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), first.pointee.ai_protocol)
        guard fd >= 0 else { return .failure(PeerFetchError("socket: \(Self.errnoText())")) }
        defer { close(fd) }
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return .failure(PeerFetchError("connect: \(Self.errnoText())")) }
            if let e = wait(fd, for: Int16(POLLOUT), until: deadline, doing: "connect") { return .failure(e) }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            guard err == 0 else { return .failure(PeerFetchError("connect: \(String(cString: strerror(err)))")) }
        }
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
        let headerCap = 64 * 1024
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength: Int?
        var status = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return .failure(PeerFetchError("recv: \(Self.errnoText())")) }
                if let e = wait(fd, for: Int16(POLLIN), until: deadline, doing: "the answer") { return .failure(e) }
                continue
            }
            data.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = Self.find([13, 10, 13, 10], in: data) {
                headerEnd = end + 4
                let head = String(decoding: data[0..<end], as: UTF8.self).split(separator: "\r\n")
                let statusParts = head.first?.split(separator: " ") ?? []
                guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let s = Int(statusParts[1]) else {
                    return .failure(PeerFetchError("not an HTTP answer (is the peer plain HTTP?)"))
                }
                status = s
                for line in head.dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    let name = parts[0].lowercased(), value = parts[1].trimmingCharacters(in: .whitespaces)
                    if name == "content-length" { contentLength = Int(value) }
                    if name == "transfer-encoding", value.lowercased() != "identity" { return .failure(PeerFetchError("transfer-encoding \(value) not supported")) }
                    if name == "content-encoding", value.lowercased() != "identity" { return .failure(PeerFetchError("content-encoding \(value) not supported")) }
                }
                if let c = contentLength, c > maxBodyBytes { return .failure(PeerFetchError("body of \(c) bytes is over the cap of \(maxBodyBytes)")) }
            }
            if headerEnd == nil, data.count > headerCap { return .failure(PeerFetchError("headers over \(headerCap) bytes")) }
            if let h = headerEnd {
                if data.count - h > maxBodyBytes { return .failure(PeerFetchError("body over the cap of \(maxBodyBytes) bytes")) }
                if let c = contentLength, data.count - h >= c { break }
            }
        }
        guard let h = headerEnd else { return .failure(PeerFetchError("the connection closed before the headers ended")) }
        let body = Array(data[h...])
        if let c = contentLength, body.count < c { return .failure(PeerFetchError("the connection closed after \(body.count) of \(c) body bytes")) }
        return .success(PeerResponse(status: status, body: contentLength.map { Array(body.prefix($0)) } ?? body))
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

    private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
        return nil
    }

    private static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
