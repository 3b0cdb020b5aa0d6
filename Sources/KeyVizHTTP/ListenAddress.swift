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
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw .badListenAddress(text, "an IPv6 host must be written [addr]:port")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .badListenAddress(text, "no port") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portPart) else { throw .badListenAddress(text, "port must be 0…65535") }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        guard !hostPart.isEmpty else { throw .badListenAddress(text, "empty host") }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
