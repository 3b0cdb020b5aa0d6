/// Settings of a ``MetricsServer``: the one place its policy (auth, limits, deadlines) is set.
///
/// The server reads these when it starts; numbers below a limit's minimum are raised to it
/// there (so a value set after `init` is taken as safely as one passed to it).
public struct MetricsServerConfiguration: Sendable {
    public var listen: ListenAddress
    /// `/metrics` requests served at once (at least 1); more get 503 at once (not a queue).
    public var maxConcurrentScrapes: Int
    /// Matrix API requests served at once (at least 1); more get 503 at once (not a queue).
    public var maxConcurrentMatrixRequests: Int
    /// Open connections at most (at least 1; each has its own thread); more are refused by
    /// libmicrohttpd.
    public var connectionLimit: Int
    /// Open connections at most from one client IP address (1…`connectionLimit`; more are
    /// refused at once), so that one host cannot take every connection and keep scrapers out.
    /// Default 16 of the 64. nil: none but `connectionLimit`, for a server behind a proxy,
    /// where every client has the proxy's address.
    public var connectionLimitPerClient: Int?
    /// Seconds (at least 1) a connection may stay idle, and the deadline for one whole request
    /// exchange: from the connection opening (or its previous request ending) to the last byte
    /// of the response. A connection past it is closed, however steadily it trickles.
    public var connectionTimeoutSeconds: Int
    /// Seconds (1…`connectionTimeoutSeconds`) a new connection has to send its first request's
    /// headers before it is closed: connections that never finish their headers are freed
    /// sooner than the whole-request deadline would.
    public var headerTimeoutSeconds: Int
    /// Bytes of libmicrohttpd memory per connection (at least 4096). It bounds the request:
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
                connectionLimit: Int = 64, connectionLimitPerClient: Int? = 16, connectionTimeoutSeconds: Int = 10,
                headerTimeoutSeconds: Int = 5, connectionMemoryLimit: Int = 32 * 1024,
                basicAuth: BasicAuthUsers? = nil, tlsCertificatePEM: String? = nil, tlsKeyPEM: String? = nil) {
        self.listen = listen
        self.maxConcurrentScrapes = maxConcurrentScrapes
        self.maxConcurrentMatrixRequests = maxConcurrentMatrixRequests
        self.connectionLimit = connectionLimit
        self.connectionLimitPerClient = connectionLimitPerClient
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.headerTimeoutSeconds = headerTimeoutSeconds
        self.connectionMemoryLimit = connectionMemoryLimit
        self.basicAuth = basicAuth
        self.tlsCertificatePEM = tlsCertificatePEM
        self.tlsKeyPEM = tlsKeyPEM
    }
}

extension MetricsServerConfiguration {
    /// The limits as the server enforces them: each field raised to its minimum, and the ones
    /// bounded by another (per client by the connection limit, headers by the request deadline)
    /// lowered to it.
    var effective: MetricsServerConfiguration {
        var c = self
        c.maxConcurrentScrapes = max(1, maxConcurrentScrapes)
        c.maxConcurrentMatrixRequests = max(1, maxConcurrentMatrixRequests)
        c.connectionLimit = max(1, connectionLimit)
        c.connectionLimitPerClient = connectionLimitPerClient.map { min(max(1, $0), c.connectionLimit) }
        c.connectionTimeoutSeconds = max(1, connectionTimeoutSeconds)
        c.headerTimeoutSeconds = min(max(1, headerTimeoutSeconds), c.connectionTimeoutSeconds)
        c.connectionMemoryLimit = max(4096, connectionMemoryLimit)
        return c
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
