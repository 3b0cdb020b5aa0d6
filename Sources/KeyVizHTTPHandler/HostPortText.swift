/// Splits `host:port` text the one way every KeyViz address flag is written: `[IPv6]:port`, or
/// a host without colons and the port after the last colon. Shared by the server's listen
/// address and the cluster's peers, which then check host and port by their own rules.
package enum HostPortText {
    /// The host and port parts, or why the text has none (a reason to show the user).
    package static func split(_ text: String) -> Result<(host: Substring, port: Substring), HostPortTextError> {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(.init(reason: "an IPv6 host must be written [addr]:port"))
            }
            return .success((text[text.index(after: text.startIndex)..<close], text[text.index(close, offsetBy: 2)...]))
        }
        guard let colon = text.lastIndex(of: ":") else { return .failure(.init(reason: "no port")) }
        return .success((text[..<colon], text[text.index(after: colon)...]))
    }
}

/// Why `host:port` text could not be split.
package struct HostPortTextError: Error {
    package var reason: String
}
