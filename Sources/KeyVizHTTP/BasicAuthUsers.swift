import CKeyVizHTTPShim
import Synchronization

/// Users allowed by HTTP basic auth, read from a file of `user:hash` or `user hash` lines.
///
/// Hashes are crypt(3) strings: bcrypt (`$2b$`, `$2y$`), SHA-256-crypt (`$5$`), SHA-512-crypt
/// (`$6$`) or yescrypt (`$y$`); make one with `mkpasswd -m sha-256-crypt` or
/// `htpasswd -nbB user pass`. Blank lines and `#` comments are skipped. Password checks compare
/// in constant time; a bcrypt check costs tens of milliseconds, so verified credentials are
/// remembered (at most 64 header values) and a scrape pays it once.
public final class BasicAuthUsers: Sendable {
    private let hashes: [String: String]
    private let verified = Mutex<Set<String>>([])

    public init(fileContents: String, path: String = "<inline>") throws(ServerError) {
        var users: [String: String] = [:]
        for (n, raw) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let sep = line.firstIndex { $0 == ":" || $0 == " " || $0 == "\t" }
            guard let sep else { throw .badAuthFile(path, line: n + 1, "want 'user:hash'") }
            let user = String(line[..<sep])
            let hash = line[line.index(after: sep)...].trimmingCharacters(in: " \t")
            guard !user.isEmpty else { throw .badAuthFile(path, line: n + 1, "empty user name") }
            guard hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$") || hash.hasPrefix("$2a$") || hash.hasPrefix("$5$") || hash.hasPrefix("$6$") || hash.hasPrefix("$y$") else {
                throw .badAuthFile(path, line: n + 1, "hash must be bcrypt ($2b$), SHA-256-crypt ($5$), SHA-512-crypt ($6$) or yescrypt ($y$)")
            }
            guard users[user] == nil else { throw .badAuthFile(path, line: n + 1, "user '\(user)' appears twice") }
            users[user] = hash
        }
        guard !users.isEmpty else { throw .badAuthFile(path, line: 0, "no users") }
        hashes = users
    }

    /// Whether an `Authorization` header value carries valid basic credentials.
    public func allows(authorization: String?) -> Bool {
        guard let authorization, authorization.count < 4096 else { return false }
        if verified.withLock({ $0.contains(authorization) }) { return true }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Base64.decode(String(parts[1])),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let user = String(decoding: decoded[..<colon], as: UTF8.self)
        let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        // Unknown users are checked against a dummy hash so timing does not reveal who exists.
        let hash = hashes[user] ?? "$5$keyvizdummysalt$2ErzqXvN5xJh2JFL/8wY1l4VkvbHxkGJgd3nVpNiIc1"
        let ok = keyviz_crypt_matches(password, hash) == 1 && hashes[user] != nil
        if ok {
            verified.withLock { v in
                if v.count >= 64 { v.removeAll() }
                v.insert(authorization)
            }
        }
        return ok
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
