public import KeyViz

/// The heat matrix as the JSON of `GET /api/v1/keyviz/matrix`.
///
/// `{"series":…,"generated_at":…,"step_ms":…,"column_unix_ms":[…],"unrouted":[…],
/// "rows":[{"row_id","start","end" (base64; "" = the start or end of the key space),"start_preview","end_preview" ((begin)/(end) there),
/// "aggregate","route_ids","route_ids_truncated","route_count","values"}],"events":[…],"events_dropped":…}` (docs/api.md,
/// docs/openapi.yaml). Written by hand: a fixed shape, no Foundation.
public enum MatrixJSON {
    /// Longest key preview, in characters; the exact key is always in the base64 field.
    public static let previewLength = 64

    /// The matrix API's body for `m`: for hosts that serve the matrix their own way.
    /// `events` are the route changes in the matrix's time range (`RouteChangeLog`), with
    /// the log's dropped count.
    public static func encode(_ m: HeatMatrix, generatedAt: String, stepMs: Int64,
                              events: [RouteChangeEvent] = [], eventsDropped: UInt64 = 0) -> [UInt8] {
        encode(m, generatedAt: generatedAt, stepMs: stepMs, events: events.map { (nil, $0) }, eventsDropped: eventsDropped, extra: [])
    }

    /// The same, with events optionally named by node and `extra` (`,"name":value…`, already
    /// JSON) appended at the top level: the cluster view's body.
    package static func encode(_ m: HeatMatrix, generatedAt: String, stepMs: Int64, events: [(node: String?, event: RouteChangeEvent)],
                               eventsDropped: UInt64, extra: [UInt8]) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(256 + m.rows.count * (160 + m.columnUnixMs.count * 4))
        o.append(contentsOf: #"{"series":"#.utf8); string(m.series.rawValue, &o)
        o.append(contentsOf: #","generated_at":"#.utf8); string(generatedAt, &o)
        o.append(contentsOf: #","step_ms":"#.utf8); o.append(contentsOf: String(stepMs).utf8)
        o.append(contentsOf: #","column_unix_ms":"#.utf8); array(m.columnUnixMs.map { UInt64(max(0, $0)) }, &o)
        o.append(contentsOf: #","unrouted":"#.utf8); array(m.unrouted, &o)
        o.append(contentsOf: #","rows":["#.utf8)
        for (i, r) in m.rows.enumerated() {
            if i > 0 { o.append(UInt8(ascii: ",")) }
            o.append(contentsOf: #"{"row_id":"#.utf8); string(r.rowID, &o)
            bounds(r.start, r.end, &o)
            o.append(contentsOf: #","aggregate":"#.utf8); o.append(contentsOf: (r.aggregate ? "true" : "false").utf8)
            o.append(contentsOf: #","route_ids":"#.utf8); array(r.routeIDs.map(\.rawValue), &o)
            o.append(contentsOf: #","route_ids_truncated":"#.utf8); o.append(contentsOf: (r.routeIDsTruncated ? "true" : "false").utf8)
            o.append(contentsOf: #","route_count":"#.utf8); o.append(contentsOf: String(r.routeCount).utf8)
            o.append(contentsOf: #","values":"#.utf8); array(r.values, &o)
            o.append(UInt8(ascii: "}"))
        }
        o.append(contentsOf: #"],"events":["#.utf8)
        for (i, e) in events.enumerated() {
            if i > 0 { o.append(UInt8(ascii: ",")) }
            event(e.event, node: e.node, &o)
        }
        o.append(contentsOf: #"],"events_dropped":"#.utf8); o.append(contentsOf: String(eventsDropped).utf8)
        o.append(contentsOf: extra)
        o.append(UInt8(ascii: "}"))
        return o
    }

    /// `{"kind","unix_ms","catalog_version",["node",]"before":[route…],"before_count","after":[…],"after_count"}`;
    /// a route is `{"route_id","start","end","start_preview","end_preview"}` like a row's bounds.
    static func event(_ e: RouteChangeEvent, node: String?, _ o: inout [UInt8]) {
        o.append(contentsOf: #"{"kind":"#.utf8); string(e.kind.rawValue, &o)
        o.append(contentsOf: #","unix_ms":"#.utf8); o.append(contentsOf: String(max(0, e.unixMs)).utf8)
        o.append(contentsOf: #","catalog_version":"#.utf8); o.append(contentsOf: String(e.catalogVersion).utf8)
        if let node { o.append(contentsOf: #","node":"#.utf8); string(node, &o) }
        for (name, routes, count) in [("before", e.before, e.beforeCount), ("after", e.after, e.afterCount)] {
            o.append(contentsOf: ",\"\(name)\":[".utf8)
            for (i, r) in routes.enumerated() {
                if i > 0 { o.append(UInt8(ascii: ",")) }
                o.append(contentsOf: #"{"route_id":"#.utf8); o.append(contentsOf: String(r.id.rawValue).utf8)
                bounds(r.start, r.end, &o)
                o.append(UInt8(ascii: "}"))
            }
            o.append(contentsOf: "],\"\(name)_count\":\(count)".utf8)
        }
        o.append(UInt8(ascii: "}"))
    }

    /// `,"start":…,"end":…,"start_preview":…,"end_preview":…`: a key range as rows and event
    /// routes spell it (base64, "" for an end of the key space, and readable previews).
    static func bounds(_ start: [UInt8], _ end: [UInt8], _ o: inout [UInt8]) {
        o.append(contentsOf: #","start":""#.utf8); Base64.encode(start, into: &o)
        o.append(contentsOf: #"","end":""#.utf8); Base64.encode(end, into: &o)
        o.append(contentsOf: #"","start_preview":"#.utf8); string(KeyPreview.render(start, maxLength: previewLength), &o)
        o.append(contentsOf: #","end_preview":"#.utf8); string(KeyPreview.renderEnd(end, maxLength: previewLength), &o)
    }

    /// Key-range bounds as the page sends them back: standard or URL-safe base64, padding
    /// optional (a `+` that arrived as a space counts as `+`). Nil when not base64.
    package static func decodeKey(_ text: String) -> [UInt8]? {
        var s = ""
        for c in text {
            switch c {
            case "-", " ": s.append("+")
            case "_": s.append("/")
            default: s.append(c)
            }
        }
        guard s.count % 4 != 1 else { return nil }
        return Base64.decode(s)
    }

    /// The matrix API's error body: `{"code":…,"message":…}`.
    public static func error(code: String, message: String) -> [UInt8] {
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

    package static func string(_ s: String, _ o: inout [UInt8]) {
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
