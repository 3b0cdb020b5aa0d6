/// Settings of a ``MetricsServer``: the one place its policy (auth, limits, deadlines) is set.
///
/// The server checks these when it starts (`MetricsServer.init`): a value outside its stated
/// range, whether passed to `init` or set after it, stops the start with
/// ``ServerError/invalidConfiguration(setting:problem:)`` naming the setting, never a trap or a
/// silent adjustment.
public struct MetricsServerConfiguration: Sendable {
    public var listen: ListenAddress
    /// `/metrics` requests served at once (1…4 096); more get 503 at once (not a queue).
    public var maxConcurrentScrapes: Int
    /// Matrix API requests served at once (1…4 096); more get 503 at once (not a queue).
    public var maxConcurrentMatrixRequests: Int
    /// Open connections at most (1…65 536); past it libmicrohttpd accepts no more until one
    /// closes (they wait in the kernel's listen backlog).
    public var connectionLimit: Int
    /// Open connections at most from one client IP address (1…65 536; more are refused at
    /// once), so that one host cannot take every connection and keep scrapers out. At or above
    /// `connectionLimit` it never binds before that limit does.
    /// Default 16 of the 64. nil: none but `connectionLimit`, for a server behind a proxy,
    /// where every client has the proxy's address.
    public var connectionLimitPerClient: Int?
    /// How long (whole seconds, 1 s…1 day: libmicrohttpd counts seconds) a connection may stay
    /// idle, and the deadline for one whole request exchange: from the connection opening (or
    /// its previous request ending) to the last byte of the response. A connection past it is
    /// closed, however steadily it trickles.
    public var connectionTimeout: Duration
    /// How long (whole seconds, 1 s…1 day) a new connection has to send its first request's
    /// headers before it is closed: connections that never finish their headers are freed
    /// sooner than the whole-request deadline would. At or above `connectionTimeout` it never
    /// closes a connection before that deadline does.
    public var headerTimeout: Duration
    /// Bytes of libmicrohttpd memory per connection (4 096…64 MiB). It bounds the request:
    /// target at most a quarter of it (414 beyond), head at most half of it as
    /// ``requestHeadLimit`` counts (431 beyond), so the other half is always left to answer in.
    public var connectionMemoryLimit: Int
    /// When set, every request needs these credentials (401 otherwise), checked before any
    /// request body is read.
    public var basicAuth: BasicAuthUsers?
    /// PEM certificate chain and private key; both or neither.
    public var tlsCertificatePEM: String?
    public var tlsKeyPEM: String?

    public init(listen: ListenAddress = .default, maxConcurrentScrapes: Int = 8, maxConcurrentMatrixRequests: Int = 4,
                connectionLimit: Int = 64, connectionLimitPerClient: Int? = 16, connectionTimeout: Duration = .seconds(10),
                headerTimeout: Duration = .seconds(5), connectionMemoryLimit: Int = 32 * 1024,
                basicAuth: BasicAuthUsers? = nil, tlsCertificatePEM: String? = nil, tlsKeyPEM: String? = nil) {
        self.listen = listen
        self.maxConcurrentScrapes = maxConcurrentScrapes
        self.maxConcurrentMatrixRequests = maxConcurrentMatrixRequests
        self.connectionLimit = connectionLimit
        self.connectionLimitPerClient = connectionLimitPerClient
        self.connectionTimeout = connectionTimeout
        self.headerTimeout = headerTimeout
        self.connectionMemoryLimit = connectionMemoryLimit
        self.basicAuth = basicAuth
        self.tlsCertificatePEM = tlsCertificatePEM
        self.tlsKeyPEM = tlsKeyPEM
    }
}

extension MetricsServerConfiguration {
    /// Checks every setting against its documented range (the one place they are checked:
    /// `MetricsServer.init` calls it), and returns what libmicrohttpd and the deadline thread are
    /// given: the timeouts in whole seconds and the per-client limit (0: none). A looser limit than
    /// the one above it is valid and given as that one (the header timeout at most the connection
    /// timeout, the per-client limit at most the connection limit): it would never bind first.
    func validated() throws(ServerError) -> (connectionTimeoutSeconds: Int, headerTimeoutSeconds: Int, perClientLimit: Int) {
        func check(_ setting: String, _ value: Int, _ range: ClosedRange<Int>) throws(ServerError) {
            guard range.contains(value) else {
                throw .invalidConfiguration(setting: setting, problem: "\(value) is outside \(range.lowerBound)…\(range.upperBound)")
            }
        }
        func wholeSeconds(_ setting: String, _ d: Duration, _ range: ClosedRange<Int64>) throws(ServerError) -> Int {
            let (seconds, attoseconds) = d.components
            guard attoseconds == 0, range.contains(seconds) else {
                throw .invalidConfiguration(setting: setting, problem: "\(d) is not whole seconds in \(range.lowerBound)…\(range.upperBound) s")
            }
            return Int(seconds)
        }
        try check("maxConcurrentScrapes", maxConcurrentScrapes, 1...4096)
        try check("maxConcurrentMatrixRequests", maxConcurrentMatrixRequests, 1...4096)
        try check("connectionLimit", connectionLimit, 1...65_536)
        if let perClient = connectionLimitPerClient { try check("connectionLimitPerClient", perClient, 1...65_536) }
        try check("connectionMemoryLimit", connectionMemoryLimit, 4096...(64 << 20))
        let timeout = try wholeSeconds("connectionTimeout", connectionTimeout, 1...86_400)
        let headers = try wholeSeconds("headerTimeout", headerTimeout, 1...86_400)
        return (timeout, min(headers, timeout), connectionLimitPerClient.map { min($0, connectionLimit) } ?? 0)
    }

    /// Longest request target (path and query, as sent) served: a quarter of the connection
    /// memory (8192 bytes by default). Longer gets 414.
    public var requestTargetLimit: Int { max(4096, connectionMemoryLimit) / 4 }

    /// Most query parameters (pieces between `&`) served: 64, fewer below 16 KiB of connection
    /// memory. libmicrohttpd keeps a record of each, and KeyViz reads fewer than ten; more get
    /// 414.
    public var queryParameterLimit: Int { min(64, max(4096, connectionMemoryLimit) / 256) }

    /// Largest request head served, as libmicrohttpd's memory holds it: the bytes of the
    /// request line, headers and blank line, plus 64 for each header field, cookie and query
    /// parameter, plus the length of a `Cookie` header (copied to be split). Half the connection
    /// memory (16384 by default). Larger gets 431.
    public var requestHeadLimit: Int { max(4096, connectionMemoryLimit) / 2 }
}
