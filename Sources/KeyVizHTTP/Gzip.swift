import CKeyVizZlib
import KeyVizHTTPHandler
#if canImport(Glibc)
import Glibc
#endif

/// gzip for `/metrics` bodies, through zlib (package-wide: the server compresses `/metrics` bodies with it).
package enum Gzip {
    /// Level 1: about 3 ms for a 520 KB exposition against 11 ms at level 6, for 23% vs 20%
    /// of the size (measured on this kind of machine): the scrape's time matters more.
    static let level: Int32 = 1

    package static func compress(_ input: [UInt8]) -> [UInt8]? {
        var out: UnsafeMutablePointer<UInt8>?
        let n = input.withUnsafeBufferPointer { keyviz_gzip($0.baseAddress, $0.count, level, &out) }
        guard n > 0, let out else { return nil }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: n))
    }

    /// Whether an `Accept-Encoding` value allows gzip (q > 0). A `gzip` entry decides; `*`
    /// only speaks for codings not listed (RFC 9110 §12.5.3), so `*, gzip;q=0` refuses gzip.
    static func accepted(by acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        let entries = HTTPQualityList.parse(acceptEncoding)
        let entry = entries.first { $0.token == "gzip" } ?? entries.first { $0.token == "*" }
        return (entry?.q ?? 0) > 0
    }

    /// The server's content coding: a compressible response becomes gzip when the request's
    /// `Accept-Encoding` allows it and the body is worth it (≥ 1 KiB).
    static func encode(_ response: KeyVizHTTPResponse, acceptEncoding: String?) -> KeyVizHTTPResponse {
        guard response.compressible, response.body.count >= 1024, accepted(by: acceptEncoding),
              let zipped = compress(response.body) else { return response }
        var r = response
        r.body = zipped
        r.headers.append(("Content-Encoding", "gzip"))
        if !r.headers.contains(where: { $0.name.lowercased() == "vary" }) { r.headers.append(("Vary", "Accept-Encoding")) }
        return r
    }
}
