/// Settings of a ``MetricsServer``.
public struct MetricsServerConfiguration: Sendable {
    public var listen: ListenAddress
    /// `/metrics` requests served at once; more get 503 at once (not a queue).
    public var maxConcurrentScrapes: Int
    /// Open connections at most (each has its own thread); more are refused by libmicrohttpd.
    public var connectionLimit: Int
    /// Seconds a connection may stay idle or trickle before it is closed.
    public var connectionTimeoutSeconds: Int
    /// Bytes of buffer per connection (request line + headers must fit; larger gets 431).
    public var connectionMemoryLimit: Int
    public var basicAuth: BasicAuthUsers?
    /// PEM certificate chain and private key; both or neither.
    public var tlsCertificatePEM: String?
    public var tlsKeyPEM: String?

    public init(listen: ListenAddress = .default, maxConcurrentScrapes: Int = 8,
                connectionLimit: Int = 64, connectionTimeoutSeconds: Int = 10, connectionMemoryLimit: Int = 32 * 1024,
                basicAuth: BasicAuthUsers? = nil, tlsCertificatePEM: String? = nil, tlsKeyPEM: String? = nil) {
        self.listen = listen
        self.maxConcurrentScrapes = max(1, maxConcurrentScrapes)
        self.connectionLimit = max(1, connectionLimit)
        self.connectionTimeoutSeconds = max(1, connectionTimeoutSeconds)
        self.connectionMemoryLimit = max(4096, connectionMemoryLimit)
        self.basicAuth = basicAuth
        self.tlsCertificatePEM = tlsCertificatePEM
        self.tlsKeyPEM = tlsKeyPEM
    }
}
