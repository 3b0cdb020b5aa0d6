import CKeyVizCrypt
import Synchronization

/// Users allowed by HTTP basic auth, read from a file of `user:hash` or `user hash` lines.
///
/// Hashes are crypt(3) strings: bcrypt (`$2b$`, `$2y$`), SHA-256-crypt (`$5$`), SHA-512-crypt
/// (`$6$`) or yescrypt (`$y$`); make one with `mkpasswd -m sha-256-crypt` or
/// `htpasswd -nbB user pass`. Blank lines and `#` comments are skipped. Password checks compare
/// in constant time; a bcrypt check costs tens of milliseconds, so verified credentials are
/// remembered (at most 64 header values) and a scrape pays it once.
///
/// An unknown user is checked against a dummy hash made at start-up with the scheme, cost and
/// salt of a configured user's hash, so a wrong guess costs the same whether the name exists or
/// not. Credentials with a NUL byte or that are not UTF-8 are refused before any hashing (crypt
/// would stop at the NUL and accept `secret\0junk` for `secret`).
public final class BasicAuthUsers: Sendable {
    private let hashes: [String: String]
    /// One dummy per scheme-and-cost among the users (sorted, so the choice per name is stable).
    private let dummies: [String]
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
        var byCost: [String: String] = [:]
        for user in users.keys.sorted() {
            let hash = users[user]!
            let key = Self.schemeAndCost(hash)
            guard byCost[key] == nil else { continue }
            guard let dummy = Self.crypt(Self.randomPassword(), setting: hash) else {
                throw .badAuthFile(path, line: 0, "user '\(user)': this system's crypt(3) cannot check that hash")
            }
            byCost[key] = dummy
        }
        hashes = users
        dummies = byCost.keys.sorted().map { byCost[$0]! }
    }

    /// Whether an `Authorization` header value carries valid basic credentials.
    public func allows(authorization: String?) -> Bool {
        guard let authorization, authorization.utf8.count < 4096 else { return false }
        if verified.withLock({ $0.contains(authorization) }) { return true }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Base64.decode(String(parts[1])),
              !decoded.contains(0),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
              let user = String(validating: decoded[..<colon], as: UTF8.self),
              let password = String(validating: decoded[(colon + 1)...], as: UTF8.self) else { return false }
        let known = hashes[user]
        let hash = known ?? dummies[Self.stableIndex(user, count: dummies.count)]
        let ok = keyviz_crypt_matches(password, hash) == 1 && known != nil
        if ok {
            verified.withLock { v in
                if v.count >= 64 { v.removeAll() }
                v.insert(authorization)
            }
        }
        return ok
    }

    /// The part of a crypt string that sets its cost: bcrypt `$2b$10`, `$5$rounds=N`, `$y$j9T`.
    static func schemeAndCost(_ hash: String) -> String {
        if hash.hasPrefix("$2") { return String(hash.prefix(6)) }
        let fields = hash.split(separator: "$", omittingEmptySubsequences: false)
        return fields.dropLast(2).joined(separator: "$")
    }

    static func crypt(_ password: String, setting: String) -> String? {
        var out = [CChar](repeating: 0, count: 512)
        guard keyviz_crypt(password, setting, &out, out.count) == 1 else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func randomPassword() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(g.next() as UInt64, radix: 36) }.joined()
    }

    /// FNV-1a of the name: the same unknown name always meets the same dummy.
    private static func stableIndex(_ user: String, count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in user.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(count))
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
