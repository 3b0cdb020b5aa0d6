import KeyVizHTTP

/// `authorization`: the input is an `Authorization` header value, as the server reads it (up to
/// the first NUL, invalid UTF-8 replaced), checked by `BasicAuthUsers` over a fixed users file.
///
/// The users' hashes are cheap on purpose (SHA-256-crypt at its minimum of 1 000 rounds, bcrypt
/// at cost 4), so the fuzzer runs fast; the code paths are those of real hashes. Checks: no
/// crash; a value is allowed only when it is `Basic` (any case) with the base64 of a listed
/// `user:password`; asking twice gives the same answer (the cache of verified values).
enum AuthorizationTarget {
    /// `user` / `s3cret pass` (SHA-256-crypt, 1 000 rounds) and `admin` / `hunter2` (bcrypt, cost 4).
    static let usersFile = """
        # fuzz users: cheap hashes
        user:$5$rounds=1000$keyvizfuzz$L57dFbcvGOJs4AwzDGbM30jrk96/Zh59sUa.qxUVpb5
        admin $2b$04$eclz1K1qKDV7.8WljJlqTuDOu6z2b/6DPNtABydC0Nxzd.hY6Cf5y
        """
    static let credentials: Set<[UInt8]> = [Array("user:s3cret pass".utf8), Array("admin:hunter2".utf8)]

    static let users: BasicAuthUsers = try! BasicAuthUsers(fileContents: usersFile, path: "<fuzz>")

    static func evaluate(_ input: [UInt8]) -> FuzzOutcome {
        var o = FuzzOutcome()
        let value = String(decoding: input.prefix { $0 != 0 }, as: UTF8.self)
        let first = users.allows(authorization: value)
        let second = users.allows(authorization: value)
        o.check(first == second, "allowed \(first) then \(second) for the same value")
        if first {
            let parts = value.split(separator: " ", maxSplits: 1)
            let decoded = parts.count == 2 && parts[0].lowercased() == "basic" ? lenientBase64(String(parts[1])) : nil
            o.check(decoded.map(credentials.contains) == true, "allowed a value that is not a listed user's credentials: \(value.prefix(200))")
        }
        return o
    }

    /// Base64 with the standard alphabet, padding optional: what a client may send.
    static func lenientBase64(_ s: String) -> [UInt8]? {
        var trimmed = Array(s.utf8)
        while trimmed.last == UInt8(ascii: "=") { trimmed.removeLast() }
        let padded = trimmed + Array(repeating: UInt8(ascii: "="), count: (4 - trimmed.count % 4) % 4)
        return AnswerChecks.base64(String(decoding: padded, as: UTF8.self))
    }
}
