import KeyViz

/// The heat matrix as the JSON of `GET /api/v1/keyviz/matrix`.
///
/// `{"series":…,"generated_at":…,"column_unix_ms":[…],"unrouted":[…],"rows":[{"bucket_id",
/// "start","end" (base64; "" = unbounded),"aggregate","route_ids","route_ids_truncated",
/// "route_count","values"}]}`. Written by hand: a fixed shape, no Foundation.
enum MatrixJSON {
    static func encode(_ m: HeatMatrix, generatedAt: String) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(256 + m.rows.count * (96 + m.columnUnixMs.count * 4))
        o.append(contentsOf: #"{"series":"#.utf8); string(m.series.rawValue, &o)
        o.append(contentsOf: #","generated_at":"#.utf8); string(generatedAt, &o)
        o.append(contentsOf: #","column_unix_ms":"#.utf8); array(m.columnUnixMs.map { UInt64(max(0, $0)) }, &o)
        o.append(contentsOf: #","unrouted":"#.utf8); array(m.unrouted, &o)
        o.append(contentsOf: #","rows":["#.utf8)
        for (i, r) in m.rows.enumerated() {
            if i > 0 { o.append(UInt8(ascii: ",")) }
            o.append(contentsOf: #"{"bucket_id":"#.utf8); string(r.bucketID, &o)
            o.append(contentsOf: #","start":""#.utf8); Base64.encode(r.start, into: &o)
            o.append(contentsOf: #"","end":""#.utf8); Base64.encode(r.end, into: &o)
            o.append(contentsOf: #"","aggregate":"#.utf8); o.append(contentsOf: (r.aggregate ? "true" : "false").utf8)
            o.append(contentsOf: #","route_ids":"#.utf8); array(r.routeIDs, &o)
            o.append(contentsOf: #","route_ids_truncated":"#.utf8); o.append(contentsOf: (r.routeIDsTruncated ? "true" : "false").utf8)
            o.append(contentsOf: #","route_count":"#.utf8); o.append(contentsOf: String(r.routeCount).utf8)
            o.append(contentsOf: #","values":"#.utf8); array(r.values, &o)
            o.append(UInt8(ascii: "}"))
        }
        o.append(contentsOf: "]}".utf8)
        return o
    }

    static func error(code: String, message: String) -> [UInt8] {
        var o: [UInt8] = Array(#"{"code":"#.utf8)
        string(code, &o)
        o.append(contentsOf: #","message":"#.utf8)
        string(message, &o)
        o.append(UInt8(ascii: "}"))
        return o
    }

    static func array(_ values: [UInt64], _ o: inout [UInt8]) {
        o.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { o.append(UInt8(ascii: ",")) }
            o.append(contentsOf: String(v).utf8)
        }
        o.append(UInt8(ascii: "]"))
    }

    static func string(_ s: String, _ o: inout [UInt8]) {
        o.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): o.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): o.append(contentsOf: #"\\"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                o.append(contentsOf: #"\u00"#.utf8)
                o.append(hex[Int(c >> 4)]); o.append(hex[Int(c & 15)])
            default: o.append(c)
            }
        }
        o.append(UInt8(ascii: "\""))
    }
}
