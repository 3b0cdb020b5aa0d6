/// The parts of an HTTP request the KeyViz endpoints look at.
public struct KeyVizHTTPRequest: Sendable {
    public var method: String
    public var path: String
    /// Header values by lowercased name (only the headers the endpoints read).
    public var headers: [String: String]
    /// Decoded query arguments.
    public var query: [String: String]

    public init(method: String, path: String, headers: [String: String] = [:], query: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.headers = headers
        self.query = query
    }

    /// The request headers the router reads; the server fetches exactly these.
    public static let readHeaders = ["accept", "accept-encoding", "x-prometheus-scrape-timeout-seconds"]
    /// The query arguments the router reads.
    public static let readQuery = ["series", "from_unix_ms", "to_unix_ms", "rows", "start_key", "end_key", "resolution_ms", "scope", "route", "op"]
}
