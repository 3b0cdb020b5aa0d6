#if canImport(Glibc)
import Glibc
#endif
import CKeyVizMicroHTTPD
import CMicroHTTPD
import Foundation
import KeyViz
public import Logging
import Synchronization

/// What libmicrohttpd's callbacks reach through their `cls` pointer.
final class ServerContext: Sendable {
    let handler: KeyVizHTTPHandler
    let policy: RequestPolicy
    let deadlines: RequestDeadlines
    let log: RateLimitedLog
    let lingering: LingeringClose
    let parked = ParkedRequests()
    let lentBodies: LentBodies
    let taskExecutor: (any TaskExecutor)?
    init(handler: KeyVizHTTPHandler, policy: RequestPolicy, deadlines: RequestDeadlines, log: RateLimitedLog,
         lingering: LingeringClose, lentBodies: LentBodies, taskExecutor: (any TaskExecutor)?) {
        self.taskExecutor = taskExecutor
        self.lentBodies = lentBodies
        self.handler = handler
        self.policy = policy
        self.deadlines = deadlines
        self.log = log
        self.lingering = lingering
    }
}

/// The embedded HTTP server: libmicrohttpd for the sockets, serving a `KeyVizHTTPHandler` in
/// tasks.
///
/// Threading: libmicrohttpd's one internal polling thread (poll, not select, so descriptors
/// above 1024 work) does all socket work and never waits for an answer: once a request's headers are screened, its connection is suspended and the
/// handler answers it in a task (on `taskExecutor`, or Swift's global concurrent executor);
/// the task resumes the connection with the answer (`ParkedRequests`). So a slow render or a cluster fan-out never delays
/// another request, nothing in the server blocks a thread while it waits, and the
/// concurrent-scrape limits are enforced on the tasks. (libmicrohttpd cannot suspend in its
/// thread-per-connection mode; a pool of polling threads that ran the handler served
/// concurrent scrapes one after another when the kernel gave one thread all the connections;
/// and with epoll, libmicrohttpd 0.9.75 left some connections their clients had closed open
/// for seconds, so a client's per-address slots stayed taken: `HardeningTests`.)
///
/// Binding is done here (so a busy port or bad address is a clear error and the bound port of
/// `:0` is known), then the socket is handed to libmicrohttpd. The access handler answers on
/// the second call for each request, which keeps HTTP keep-alive; it runs on libmicrohttpd's
/// threads and reaches only the handler, which is thread-safe by construction.
///
/// Policy is the configuration's alone (`RequestPolicy`): on the first call, with only the
/// headers read, a request is refused for its size (414/431), malformed headers (400),
/// credentials (401) or any body (405/413), so no body is ever read; the scrape and matrix
/// limits apply when it is answered. libmicrohttpd runs in its strict mode (HTTP/1.1 without
/// Host is 400).
///
/// Request size: libmicrohttpd keeps a request's head and a record of each header field and
/// query parameter in one fixed block per connection (`connectionMemoryLimit`), and answers
/// from what is left of it. Raising the block does not help, because its read buffer grows
/// into all of it; so KeyViz refuses targets over a quarter of it and heads over half of it
/// (``MetricsServerConfiguration/requestHeadLimit``) itself, with its own body, and stops
/// libmicrohttpd from recording the parameters of a target it refuses: 500 parameters used to
/// exhaust the block and drop the connection unanswered. Heads that do not fit the block at all
/// get libmicrohttpd's own 414 or 431.
///
/// Logging: libmicrohttpd's messages (refused connections among them) and deadline closes go
/// to `logger` at warning level, at most 20 lines per 10 s plus one line saying how many were
/// suppressed.
public final class MetricsServer: Sendable {
    package let handler: KeyVizHTTPHandler
    public let configuration: MetricsServerConfiguration
    /// The address actually bound (the real port when 0 was asked for).
    public let boundAddress: ListenAddress
    private let daemon = Atomic<Int>(0)      // struct MHD_Daemon *, 0 once stopped
    private let listenFD: Int32
    private let context: Int                 // retained ServerContext handed to libmicrohttpd
    private let deadlines: RequestDeadlines
    private let lingering = LingeringClose()
    private let lentBodies = LentBodies()
    private let reaper: Task<Void, Never>
    private let log: RateLimitedLog

    /// Starts serving `handler` as `configuration` says. `logger` defaults to one labelled
    /// `keyviz.http`, which writes where the process's `LoggingSystem` says (swift-log's
    /// default: stderr, info level and up).
    ///
    /// `taskExecutor` is where requests are answered and the deadlines kept: nil is Swift's
    /// global concurrent executor (the cooperative pool). A host whose pool can be saturated
    /// (blocking code on it, long CPU-bound tasks) and that wants scrapes answered regardless
    /// gives the server an executor of its own, e.g. a SwiftNIO event loop's `taskExecutor`.
    public init(handler: KeyVizHTTPHandler, configuration: MetricsServerConfiguration,
                logger: Logger = Logger(label: "keyviz.http"), taskExecutor: (any TaskExecutor)? = nil) throws(ServerError) {
        self.handler = handler
        self.configuration = configuration
        let (timeout, headerTimeout, perClientLimit) = try configuration.validated()
        let tls = configuration.tlsCertificatePEM != nil || configuration.tlsKeyPEM != nil
        if tls {
            guard configuration.tlsCertificatePEM != nil, configuration.tlsKeyPEM != nil else { throw .tlsNeedsBoth }
            guard keyviz_mhd_tls_supported() == 1 else { throw .tlsUnavailable }
        }
        let (fd, bound) = try Self.listen(on: configuration.listen)
        listenFD = fd
        boundAddress = bound
        var flags = MHD_USE_POLL_INTERNAL_THREAD.rawValue | MHD_USE_ERROR_LOG.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
        if tls { flags |= MHD_USE_TLS.rawValue }
        deadlines = RequestDeadlines(seconds: Double(timeout), headerSeconds: Double(headerTimeout))
        log = RateLimitedLog(logger: logger)
        let ctx = Unmanaged.passRetained(ServerContext(handler: handler, policy: RequestPolicy(configuration),
                                                       deadlines: deadlines, log: log,
                                                       lingering: lingering, lentBodies: lentBodies, taskExecutor: taskExecutor)).toOpaque()
        let d = keyviz_mhd_start(flags, fd, 0, UInt32(configuration.connectionLimit), UInt32(perClientLimit),
                                 UInt32(timeout), configuration.connectionMemoryLimit, 1,
                                 configuration.tlsKeyPEM, configuration.tlsCertificatePEM,
                                 unsafeBitCast(accessHandler, to: UnsafeMutableRawPointer.self),
                                 unsafeBitCast(connectionNotifier, to: UnsafeMutableRawPointer.self),
                                 unsafeBitCast(completionNotifier, to: UnsafeMutableRawPointer.self),
                                 unsafeBitCast(targetScreen, to: UnsafeMutableRawPointer.self),
                                 unsafeBitCast(logLine, to: UnsafeMutableRawPointer.self), ctx)
        guard let d else {
            log.flush(force: true)
            Unmanaged<ServerContext>.fromOpaque(ctx).release()
            close(fd)
            throw .daemonFailed("see the logged error (bad TLS key or certificate, or resources)")
        }
        context = Int(bitPattern: ctx)
        daemon.store(Int(bitPattern: d), ordering: .releasing)
        // The deadlines and lingering closes, as a task: its waits are task sleeps, and stop()
        // cancels it.
        reaper = Task(executorPreference: taskExecutor) { [deadlines, lingering, log] in
            while !Task.isCancelled {
                lingering.drainReady()
                let n = deadlines.reap()
                if n.withoutHeaders > 0 {
                    log.warning("closed \(n.withoutHeaders) new connection(s) whose request headers were not complete within \(headerTimeout) s")
                }
                if n.closed > n.withoutHeaders {
                    log.warning("closed \(n.closed - n.withoutHeaders) connection(s) whose request was not complete within \(timeout) s")
                }
                log.flush()
                try? await Task.sleep(for: .milliseconds(lingering.count > 0 ? 20 : 250))
            }
        }
    }

    /// Connections closed because their request exchange (or a new connection's first headers)
    /// was not complete in time.
    public var connectionsTimedOut: Int { deadlines.reapedCount }

    /// Response bodies libmicrohttpd holds now (lent, not copied, and not yet released): for
    /// tests that every one is released once sent, aborted or refused.
    package var responseBodiesHeld: Int { lentBodies.held }
    /// Response bodies lent to libmicrohttpd so far.
    package var responseBodiesLent: Int { lentBodies.lent }

    /// A server let go without a stop is stopped as ``stop()`` does, but libmicrohttpd's thread
    /// is joined on a thread of its own: the last reference may drop on a cooperative thread or
    /// an event loop, which must not wait.
    deinit {
        guard let (daemon, quiesced) = quiesce() else { return }
        let address = Int(bitPattern: daemon)
        OwnThread.detach { [context, reaper, lingering, log] in
            Self.finish(daemon: OpaquePointer(bitPattern: address)!, quiesced: quiesced,
                        context: context, reaper: reaper, lingering: lingering, log: log)
        }
    }

    /// Stops accepting, lets requests being answered finish for up to `drainTimeout`, then stops
    /// libmicrohttpd; a request still unanswered then gets a 503. It suspends while it waits
    /// (also when the calling task is cancelled: the drain still runs its course) and stops
    /// libmicrohttpd on a thread of its own. Idempotent.
    public func stop(drainTimeout: Duration) async {
        guard let (daemon, quiesced) = quiesce() else { return }
        let context = serverContext
        await Task(executorPreference: context.taskExecutor) { [handler] in
            let clock = ContinuousClock()
            let start = clock.now
            // Requests being answered, and parked ones whose tasks have not started yet.
            while handler.httpMetrics.inFlightCount > 0 || context.parked.parkedCount > 0, start.duration(to: clock.now) < drainTimeout {
                try? await Task.sleep(for: .milliseconds(1))
            }
            // Connections still parked are answered 503; every answer handed over is written out
            // (for at most a second more) before the stop closes the connections.
            _ = context.parked.resumeAll(with: Self.stoppingAnswer)
            let cut = clock.now
            while context.parked.answeringCount > 0, cut.duration(to: clock.now) < .seconds(1) {
                try? await Task.sleep(for: .milliseconds(1))
            }
        }.value
        let address = Int(bitPattern: daemon)
        await OwnThread.run { self.finish(daemon: OpaquePointer(bitPattern: address)!, quiesced: quiesced) }
    }

    /// Stops at once: requests being answered get a 503 (their connections are closed with the
    /// daemon, so a client may see the connection close instead). It returns once the port is
    /// closed, which joins libmicrohttpd's thread on the caller's (milliseconds); async code
    /// uses ``stop(drainTimeout:)``, which waits on a thread of its own. Idempotent.
    public func stop() {
        guard let (daemon, quiesced) = quiesce() else { return }
        finish(daemon: daemon, quiesced: quiesced)
    }

    private static let stoppingAnswer = KeyVizHTTPResponse.text(503, "the server is stopping")

    private var serverContext: ServerContext {
        Unmanaged<ServerContext>.fromOpaque(UnsafeRawPointer(bitPattern: context)!).takeUnretainedValue()
    }

    /// Takes the daemon (once) and stops it accepting.
    private func quiesce() -> (OpaquePointer, Int32)? {
        let d = daemon.exchange(0, ordering: .acquiringAndReleasing)
        guard d != 0, let daemonPointer = OpaquePointer(bitPattern: d) else { return nil }
        return (daemonPointer, MHD_quiesce_daemon(daemonPointer))
    }

    /// Stops libmicrohttpd (which joins its thread) and the reaper, and lets go of the context.
    private func finish(daemon: OpaquePointer, quiesced: Int32) {
        Self.finish(daemon: daemon, quiesced: quiesced, context: context, reaper: reaper, lingering: lingering, log: log)
    }

    private static func finish(daemon: OpaquePointer, quiesced: Int32, context: Int, reaper: Task<Void, Never>,
                               lingering: LingeringClose, log: RateLimitedLog) {
        let serverContext = Unmanaged<ServerContext>.fromOpaque(UnsafeRawPointer(bitPattern: context)!)
        _ = serverContext.takeUnretainedValue().parked.resumeAll(with: stoppingAnswer)
        MHD_stop_daemon(daemon)
        if quiesced >= 0 { close(quiesced) }
        reaper.cancel()
        lingering.resetAll()
        log.flush(force: true)
        serverContext.release()
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

/// Per-request state in libmicrohttpd's `*con_cls`: headers screened and accepted (answer on
/// the next call, which keeps keep-alive), already answered with a refusal, or answered after
/// being parked. Before the first call it holds `targetMarker` plus the target screen's verdict
/// (0 accepted, 1 too long, 2 too many parameters). While the handler works on it, it holds the
/// retained `ParkedRequest` (an address, so above every marker).
private let screenedMarker = 1
private let refusedMarker = 2
private let targetMarker = 3
private let answeredMarker = 6
private let lastMarker = 6

/// The URI log callback: runs on the request line, before libmicrohttpd records the query.
private let targetScreen: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?) -> UnsafeMutableRawPointer? = { cls, target, _ in
    guard let cls else { return nil }
    let policy = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue().policy
    let verdict = keyviz_mhd_screen_target(target, policy.targetLimit, UInt32(policy.parameterLimit))
    return UnsafeMutableRawPointer(bitPattern: targetMarker + Int(verdict))
}

/// libmicrohttpd's access handler. A plain C function (no captures, not main-actor code): it
/// runs on libmicrohttpd's threads.
private let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, _, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let url, let method else { return .NO }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    if Int(bitPattern: conCls.pointee) == refusedMarker {
        // A refusal was queued with the headers; whatever follows is not read into the handler.
        uploadDataSize?.pointee = 0
        return .YES
    }
    let state = Int(bitPattern: conCls.pointee)
    if state > lastMarker {
        // Resumed: the task has set the answer.
        let parked = Unmanaged<ParkedRequest>.fromOpaque(UnsafeRawPointer(bitPattern: state)!).takeRetainedValue()
        conCls.pointee = UnsafeMutableRawPointer(bitPattern: answeredMarker)
        uploadDataSize?.pointee = 0
        guard let answer = parked.answer.withLock({ $0 }) else { return .NO }
        return queue(answer, on: connection, lending: context.lentBodies)
    }
    if state == answeredMarker {
        uploadDataSize?.pointee = 0
        return .YES
    }
    let path = String(cString: url)
    let methodName = String(cString: method)
    if state == 0 || state >= targetMarker {
        // First call: only the headers are in. Every refusal is decided here, before any body.
        let raw = UnsafeMutableRawPointer(connection)
        context.deadlines.headersComplete(connection: Int(bitPattern: raw))
        func header(_ name: String) -> String? {
            MHD_lookup_connection_value(connection, .HEADER_KIND, name).map { String(cString: $0) }
        }
        // A Content-Length that is not a number counts as a body (refused); "0" or "00" is none.
        let length = header("content-length")
        let hasBody = length.map { UInt64($0) != 0 } == true || header("transfer-encoding") != nil
        let headCost = keyviz_mhd_head_cost(raw)
        let refusal = context.policy.screen(method: methodName, targetProblem: Int32(max(0, state - targetMarker)), headCost: headCost,
                                            headerProblem: keyviz_mhd_header_problem(raw),
                                            authorization: header("authorization"), hasBody: hasBody)
        guard let refusal else {
            conCls.pointee = UnsafeMutableRawPointer(bitPattern: screenedMarker)
            return .YES
        }
        conCls.pointee = UnsafeMutableRawPointer(bitPattern: refusedMarker)
        let counted = context.handler.measure(handler: KeyVizHTTPHandler.handlerName(path)) { _ in refusal }
        return queue(counted, on: connection, lending: context.lentBodies)
    }
    if let size = uploadDataSize, size.pointee > 0 {
        size.pointee = 0        // unreachable: a request with a body was refused above
        return .YES
    }
    let handler = context.handler
    var request = KeyVizHTTPRequest(method: methodName, path: path)
    for name in KeyVizHTTPRequest.readHeaders {
        if let v = MHD_lookup_connection_value(connection, .HEADER_KIND, name) { request.headers[name] = String(cString: v) }
    }
    for name in KeyVizHTTPRequest.readQuery {
        if let v = MHD_lookup_connection_value(connection, .GET_ARGUMENT_KIND, name) { request.query[name] = String(cString: v) }
    }
    let endpoint = KeyVizEndpoint(path: path)
    let name = KeyVizHTTPHandler.handlerName(endpoint)
    // Answered in a task: the connection waits suspended, libmicrohttpd's thread goes on.
    let parked = ParkedRequest(connection: Int(bitPattern: UnsafeRawPointer(connection)))
    guard context.parked.parkAndSuspend(parked) else {
        return queue(handler.measure(handler: name) { _ in .text(503, "the server is stopping") }, on: connection, lending: context.lentBodies)
    }
    // libmicrohttpd calls back for this connection only after this call returns, so the
    // pointer is in place before any resume is acted on.
    conCls.pointee = Unmanaged.passRetained(parked).toOpaque()
    let policy = context.policy
    let parkedRequests = context.parked
    Task(executorPreference: context.taskExecutor) {
        let response = await handler.measure(handler: name) { started in
            let answer: KeyVizHTTPResponse
            if let limit = policy.gate(for: endpoint) {
                answer = await limit.gate.withPlace { await handler.respond(request, started: started) } ?? limit.refusal
            } else {
                answer = await handler.respond(request, started: started)
            }
            return Gzip.encode(answer, acceptEncoding: request.headers["accept-encoding"])
        }
        parkedRequests.resume(parked, with: response)
    }
    return .YES
}

/// An answer as bytes to write to the socket, for when libmicrohttpd cannot.
private func directAnswer(_ response: KeyVizHTTPResponse) -> [UInt8] {
    let reason = String(cString: MHD_get_reason_phrase_for(UInt32(response.status)))
    var text = "HTTP/1.1 \(response.status) \(reason)\r\n"
    for h in response.headers { text += "\(h.name): \(h.value)\r\n" }
    text += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
    return Array(text.utf8) + response.body
}

private func queue(_ response: KeyVizHTTPResponse, on connection: OpaquePointer, lending ledger: LentBodies) -> MHD_Result {
    let mhdResponse: OpaquePointer?
    if response.body.count >= ResponseBody.lendAtLeast {
        // Lent, not copied: libmicrohttpd sends from the body's own storage and releases it
        // when the response is done with (an uncompressed render is often 100 KB or more).
        let body = ResponseBody(response.body, ledger: ledger)
        let held = Unmanaged.passRetained(body).toOpaque()
        mhdResponse = MHD_create_response_from_buffer_with_free_callback_cls(body.count, body.bytes, releaseResponseBody, held)
        if mhdResponse == nil { Unmanaged<ResponseBody>.fromOpaque(held).release() }
    } else {
        mhdResponse = response.body.withUnsafeBytes { body in
            MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), .RESPMEM_MUST_COPY)
        }
    }
    guard let mhdResponse else { return .NO }
    for h in response.headers { _ = MHD_add_response_header(mhdResponse, h.name, h.value) }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

/// libmicrohttpd is done with a lent body.
private let releaseResponseBody: MHD_ContentReaderFreeCallback = { held in
    guard let held else { return }
    Unmanaged<ResponseBody>.fromOpaque(held).release()
}

/// libmicrohttpd's messages, one formatted line each (the shim's logger formats them).
private let logLine: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void = { cls, line in
    guard let cls, let line else { return }
    Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue().log.warning("libmicrohttpd: " + String(cString: line))
}

/// Tracks connections opening and closing, for the request deadline.
private let connectionNotifier: MHD_NotifyConnectionCallback = { cls, connection, _, code in
    guard let cls, let connection else { return }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    let key = Int(bitPattern: UnsafeRawPointer(connection))
    if code == .CONNECTION_NOTIFY_STARTED {
        context.deadlines.opened(connection: key, fd: keyviz_mhd_connection_fd(UnsafeMutableRawPointer(connection)))
    } else if let fd = context.deadlines.closed(connection: key) {
        // Just before libmicrohttpd closes the socket (on its accepting thread: no waiting here).
        context.lingering.adopt(fd)
    }
}

/// A request finished: the connection now waits (with its deadline) for the next one. One that
/// ended any other way than served (timeout, error, client gone) is reset when it closes.
///
/// A request whose head left libmicrohttpd too little of the connection's memory to build the
/// queued answer in (a refused head that nearly fills it) would be closed unanswered: a 431 (or
/// 414) is written directly instead. A request that ended with an error but was answered (by
/// libmicrohttpd's own 4xx or that direct answer) is not reset either: its connection lingers
/// on close, so a client still sending the rest of it reads the answer.
private let completionNotifier: MHD_RequestCompletedCallback = { cls, connection, conCls, termination in
    guard let cls, let connection else { return }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    if let conCls {
        let state = Int(bitPattern: conCls.pointee)
        if state > lastMarker {
            // Resumed but closed before its answer was queued (the daemon is stopping).
            Unmanaged<ParkedRequest>.fromOpaque(UnsafeRawPointer(bitPattern: state)!).release()
            context.parked.completed()
        } else if state == answeredMarker {
            context.parked.completed()
        }
        conCls.pointee = nil
    }
    let raw = UnsafeMutableRawPointer(connection)
    let key = Int(bitPattern: raw)
    let lost = termination == .REQUEST_TERMINATED_WITH_ERROR ? keyviz_mhd_lost_answer_status(raw) : 0
    if lost != 0 {
        let answer = context.policy.lostAnswer(status: Int(lost))
        context.log.warning("libmicrohttpd had no memory left to answer a request in: answered \(answer.status) directly")
        let bytes = directAnswer(answer)
        _ = bytes.withUnsafeBytes { keyviz_mhd_send_directly(raw, $0.baseAddress, $0.count) }
        context.deadlines.lingerOnClose(connection: key)
    } else if termination == .REQUEST_TERMINATED_WITH_ERROR && keyviz_mhd_queued_status(raw) != 0 {
        context.deadlines.lingerOnClose(connection: key)
    } else if termination != .REQUEST_TERMINATED_COMPLETED_OK {
        context.deadlines.abandoned(connection: key)
    }
    context.deadlines.requestCompleted(connection: key)
}
