/// `HOST:PORT` for the server to listen on: an IPv4 literal, `localhost`, or `[IPv6]`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public static let `default` = ListenAddress(host: "127.0.0.1", port: 9477)

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(ServerError) {
        var hostPart: Substring
        let portPart: Substring
        switch HostPortText.split(text) {
        case .success(let parts): (hostPart, portPart) = parts
        case .failure(let e): throw .badListenAddress(text, e.reason)
        }
        guard let port = UInt16(portPart) else { throw .badListenAddress(text, "port must be 0…65535") }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        guard !hostPart.isEmpty else { throw .badListenAddress(text, "empty host") }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
