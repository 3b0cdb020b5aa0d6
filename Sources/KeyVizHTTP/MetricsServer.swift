#if canImport(Glibc)
import Glibc
#endif
import CKeyVizHTTPShim
import CMicroHTTPD
import KeyViz
import Synchronization

/// The embedded HTTP server: libmicrohttpd with an internal epoll thread pool, serving a
/// ``KeyVizRouter``.
///
/// Binding is done here (so a busy port or bad address is a clear error and the bound port of
/// `:0` is known), then the socket is handed to libmicrohttpd. The access handler answers on
/// the second call for each request, which keeps HTTP keep-alive; it runs on libmicrohttpd's
/// threads and reaches only the router, which is thread-safe by construction.
public final class MetricsServer: Sendable {
    public let router: KeyVizRouter
    public let configuration: MetricsServerConfiguration
    /// The address actually bound (the real port when 0 was asked for).
    public let boundAddress: ListenAddress
    private let daemon = Atomic<Int>(0)      // struct MHD_Daemon *, 0 once stopped
    private let listenFD: Int32
    private let context: Int                 // retained router handed to libmicrohttpd

    public init(router: KeyVizRouter, configuration: MetricsServerConfiguration) throws(ServerError) {
        self.router = router
        self.configuration = configuration
        let tls = configuration.tlsCertificatePEM != nil || configuration.tlsKeyPEM != nil
        if tls {
            guard configuration.tlsCertificatePEM != nil, configuration.tlsKeyPEM != nil else { throw .tlsNeedsBoth }
            guard keyviz_mhd_tls_supported() == 1 else { throw .tlsUnavailable }
        }
        let (fd, bound) = try Self.listen(on: configuration.listen)
        listenFD = fd
        boundAddress = bound
        var flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_USE_ERROR_LOG.rawValue | MHD_USE_ITC.rawValue
        if tls { flags |= MHD_USE_TLS.rawValue }
        let ctx = Unmanaged.passRetained(router).toOpaque()
        let handler = unsafeBitCast(accessHandler, to: UnsafeMutableRawPointer.self)
        let d = keyviz_mhd_start(flags, fd, UInt32(configuration.threads), UInt32(configuration.connectionLimit),
                                 UInt32(configuration.connectionTimeoutSeconds), configuration.connectionMemoryLimit,
                                 configuration.tlsKeyPEM, configuration.tlsCertificatePEM, handler, ctx)
        guard let d else {
            Unmanaged<KeyVizRouter>.fromOpaque(ctx).release()
            close(fd)
            throw .daemonFailed("see the error above (bad TLS key or certificate, or resources)")
        }
        context = Int(bitPattern: ctx)
        daemon.store(Int(bitPattern: d), ordering: .releasing)
    }

    deinit { stop() }

    /// Stops accepting, lets requests being served finish (up to `drainSeconds`), then stops
    /// the daemon. Idempotent.
    public func stop(drainSeconds: Double = 5) {
        let d = daemon.exchange(0, ordering: .acquiringAndReleasing)
        guard d != 0, let daemonPointer = OpaquePointer(bitPattern: d) else { return }
        let quiesced = MHD_quiesce_daemon(daemonPointer)
        let deadline = monotonicSeconds() + drainSeconds
        while router.httpMetrics.inFlightCount > 0 && monotonicSeconds() < deadline {
            usleep(1000)
        }
        MHD_stop_daemon(daemonPointer)
        if quiesced >= 0 { close(quiesced) }
        Unmanaged<KeyVizRouter>.fromOpaque(UnsafeRawPointer(bitPattern: context)!).release()
    }

    public var isRunning: Bool { daemon.load(ordering: .acquiring) != 0 }

    // MARK: listening socket

    private static func listen(on address: ListenAddress) throws(ServerError) -> (Int32, ListenAddress) {
        let v6 = address.host.contains(":")
        var storage = sockaddr_storage()
        var length: socklen_t
        if v6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = address.port.bigEndian
            guard inet_pton(AF_INET6, address.host, &sa.sin6_addr) == 1 else {
                throw .badListenAddress(address.description, "'\(address.host)' is not an IPv6 address")
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sa, as: sockaddr_in6.self) }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = address.port.bigEndian
            guard inet_pton(AF_INET, address.host, &sa.sin_addr) == 1 else {
                throw .badListenAddress(address.description, "'\(address.host)' is not an IPv4 address (or localhost / [IPv6])")
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sa, as: sockaddr_in.self) }
        }
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .cannotListen(address.description, String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw .cannotListen(address.description, why)
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        let port = withUnsafeBytes(of: &actual) { raw -> UInt16 in
            v6 ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port) : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
        return (fd, ListenAddress(host: address.host, port: port))
    }
}

/// libmicrohttpd's access handler. A plain C function (no captures, not main-actor code): it
/// runs on libmicrohttpd's threads.
private let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, _, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let url, let method else { return .NO }
    if conCls.pointee == nil {
        // First call for this request: headers are in. Answer on the next call (keeps keep-alive).
        conCls.pointee = UnsafeMutableRawPointer(bitPattern: 1)
        return .YES
    }
    if let size = uploadDataSize, size.pointee > 0 {
        size.pointee = 0        // no endpoint takes a body: discard it
        return .YES
    }
    let router = Unmanaged<KeyVizRouter>.fromOpaque(cls).takeUnretainedValue()
    var request = HTTPRequest(method: String(cString: method), path: String(cString: url))
    for name in HTTPRequest.readHeaders {
        if let v = MHD_lookup_connection_value(connection, .HEADER_KIND, name) { request.headers[name] = String(cString: v) }
    }
    for name in HTTPRequest.readQuery {
        if let v = MHD_lookup_connection_value(connection, .GET_ARGUMENT_KIND, name) { request.query[name] = String(cString: v) }
    }
    let response = router.handle(request)
    let mhdResponse = response.body.withUnsafeBytes { body in
        MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return .NO }
    for h in response.headers { _ = MHD_add_response_header(mhdResponse, h.name, h.value) }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}
