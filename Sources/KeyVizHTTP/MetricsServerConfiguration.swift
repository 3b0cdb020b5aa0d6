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
    /// Seconds (at least 1) a connection may stay idle, and the deadline for one whole request
    /// exchange: from the connection opening (or its previous request ending) to the last byte
    /// of the response. A connection past it is closed, however steadily it trickles.
    public var connectionTimeoutSeconds: Int
    /// Bytes of buffer per connection (at least 4096; request line + headers must fit; larger
    /// gets 431).
    public var connectionMemoryLimit: Int
    /// When set, every request needs these credentials (401 otherwise), checked before any
    /// request body is read.
    public var basicAuth: BasicAuthUsers?
    /// PEM certificate chain and private key; both or neither.
    public var tlsCertificatePEM: String?
    public var tlsKeyPEM: String?

    public init(listen: ListenAddress = .default, maxConcurrentScrapes: Int = 8, maxConcurrentMatrixRequests: Int = 4,
                connectionLimit: Int = 64, connectionTimeoutSeconds: Int = 10, connectionMemoryLimit: Int = 32 * 1024,
                basicAuth: BasicAuthUsers? = nil, tlsCertificatePEM: String? = nil, tlsKeyPEM: String? = nil) {
        self.listen = listen
        self.maxConcurrentScrapes = maxConcurrentScrapes
        self.maxConcurrentMatrixRequests = maxConcurrentMatrixRequests
        self.connectionLimit = connectionLimit
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionMemoryLimit = connectionMemoryLimit
        self.basicAuth = basicAuth
        self.tlsCertificatePEM = tlsCertificatePEM
        self.tlsKeyPEM = tlsKeyPEM
    }
}
