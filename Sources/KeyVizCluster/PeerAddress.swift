import KeyVizHTTPHandler

/// A peer's `host:port` (hostname, IPv4 literal or `[IPv6]`, port 1…65535), as `--peers` takes it.
public struct PeerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses one `host:port`; the error says what is wrong with it.
    public init(parsing text: String) throws(PeerAddressError) {
        guard !text.contains("://") else { throw PeerAddressError(text: text, reason: "write host:port, without a scheme") }
        let host: Substring, port: Substring
        switch HostPortText.split(text) {
        case .success(let parts): (host, port) = parts
        case .failure(let e): throw PeerAddressError(text: text, reason: e.reason)
        }
        guard text.hasPrefix("[") || !host.contains(":") else {
            throw PeerAddressError(text: text, reason: "an IPv6 host must be written [addr]:port")
        }
        guard !host.isEmpty else { throw PeerAddressError(text: text, reason: "empty host") }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" }) else {
            throw PeerAddressError(text: text, reason: "the host has characters no host name has")
        }
        guard port.allSatisfy(\.isASCII), let p = UInt16(port), p > 0 else { throw PeerAddressError(text: text, reason: "port must be 1…65535") }
        self.host = String(host)
        self.port = p
    }

    /// A comma-separated list (`--peers`): each entry parsed, none empty, no duplicates.
    public static func parseList(_ text: String) throws(PeerAddressError) -> [PeerAddress] {
        var out: [PeerAddress] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = part.trimmingSpaces
            guard !entry.isEmpty else { throw PeerAddressError(text: text, reason: "an empty entry in the list") }
            let peer = try PeerAddress(parsing: entry)
            guard !out.contains(peer) else { throw PeerAddressError(text: entry, reason: "listed twice") }
            out.append(peer)
        }
        return out
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why a `--peers` entry was refused.
public struct PeerAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "bad peer '\(text)': \(reason) (want host:port,…)" }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
