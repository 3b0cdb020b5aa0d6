public import KeyViz

/// The hot keys as the JSON of `GET /api/v1/keyviz/hot-keys`:
/// `{"generated_at":…,"route_id":… or null,"sample_every":…,"samples_taken":…,"samples_dropped":…,
/// "keys":[{"route_id","op","key" (base64),"key_preview","truncated","estimated_operations",
/// "share","share_error_bound"}]}` (docs/api.md, docs/openapi.yaml).
public enum HotKeysJSON {
    public static func encode(_ keys: [HotKey], route: RouteID?, sampleEvery: Int, samples: (taken: UInt64, dropped: UInt64),
                              generatedAt: String) -> [UInt8] {
        encode(keys, route: route, sampleEvery: sampleEvery, samples: samples, generatedAt: generatedAt, extra: [])
    }

    /// The same with `extra` (`,"name":value…`, already JSON) appended at the top level: the
    /// scope and node id of a node's answer, the nodes of a cluster answer.
    package static func encode(_ keys: [HotKey], route: RouteID?, sampleEvery: Int, samples: (taken: UInt64, dropped: UInt64),
                               generatedAt: String, extra: [UInt8]) -> [UInt8] {
        var o: [UInt8] = Array(#"{"generated_at":"#.utf8)
        MatrixJSON.string(generatedAt, &o)
        o.append(contentsOf: #","route_id":"#.utf8); o.append(contentsOf: (route.map { String($0.rawValue) } ?? "null").utf8)
        o.append(contentsOf: #","sample_every":"#.utf8); o.append(contentsOf: String(sampleEvery).utf8)
        o.append(contentsOf: #","samples_taken":"#.utf8); o.append(contentsOf: String(samples.taken).utf8)
        o.append(contentsOf: #","samples_dropped":"#.utf8); o.append(contentsOf: String(samples.dropped).utf8)
        o.append(contentsOf: #","keys":["#.utf8)
        for (i, k) in keys.enumerated() {
            if i > 0 { o.append(UInt8(ascii: ",")) }
            o.append(contentsOf: #"{"route_id":"#.utf8); o.append(contentsOf: String(k.route.rawValue).utf8)
            o.append(contentsOf: #","op":"#.utf8); MatrixJSON.string(k.op.description, &o)
            o.append(contentsOf: #","key":""#.utf8); Base64.encode(k.key, into: &o)
            o.append(contentsOf: #"","key_preview":"#.utf8); MatrixJSON.string(KeyPreview.render(k.key, maxLength: MatrixJSON.previewLength), &o)
            o.append(contentsOf: #","truncated":"#.utf8); o.append(contentsOf: (k.truncated ? "true" : "false").utf8)
            o.append(contentsOf: #","estimated_operations":"#.utf8); o.append(contentsOf: String(k.estimatedOperations).utf8)
            o.append(contentsOf: #","share":"#.utf8); o.append(contentsOf: number(k.share).utf8)
            o.append(contentsOf: #","share_error_bound":"#.utf8); o.append(contentsOf: number(k.shareErrorBound).utf8)
            o.append(UInt8(ascii: "}"))
        }
        o.append(UInt8(ascii: "]"))
        o.append(contentsOf: extra)
        o.append(UInt8(ascii: "}"))
        return o
    }

    /// A share as JSON: finite, at most 6 decimals.
    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "0" }
        return String((d * 1_000_000).rounded() / 1_000_000)
    }
}
