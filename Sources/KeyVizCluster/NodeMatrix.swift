import Foundation
public import KeyViz

/// One node's matrix answer (`GET /api/v1/keyviz/matrix`), decoded: what the cluster merge
/// reads. Route ids are the node's own; only key ranges mean the same thing across nodes.
public struct NodeMatrix: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var start: [UInt8]
        public var end: [UInt8]
        public var routeCount: Int
        public var values: [UInt64]

        public init(start: [UInt8], end: [UInt8], routeCount: Int, values: [UInt64]) {
            self.start = start
            self.end = end
            self.routeCount = routeCount
            self.values = values
        }
    }

    public var series: String
    /// The node's `node_id` (`KeyVizHTTPHandler(nodeID:)`): the cluster view counts each id once.
    public var nodeID: String?
    /// The node's `generated_at`.
    public var generatedAt: String
    public var stepMs: Int64
    public var columnUnixMs: [Int64]
    public var unrouted: [UInt64]
    public var rows: [Row]
    public var events: [RouteChangeEvent]
    public var eventsDropped: UInt64

    public init(series: String, generatedAt: String = "", stepMs: Int64, columnUnixMs: [Int64], unrouted: [UInt64], rows: [Row],
                events: [RouteChangeEvent] = [], eventsDropped: UInt64 = 0, nodeID: String? = nil) {
        self.series = series
        self.nodeID = nodeID
        self.generatedAt = generatedAt
        self.stepMs = stepMs
        self.columnUnixMs = columnUnixMs
        self.unrouted = unrouted
        self.rows = rows
        self.events = events
        self.eventsDropped = eventsDropped
    }

    /// The columns stamped in `[from, to)` (nil = unbounded) with their values, and the events
    /// in that range: a remembered answer cut to what a later request asks.
    public func restricted(fromUnixMs from: Int64?, toUnixMs to: Int64?) -> NodeMatrix {
        guard from != nil || to != nil else { return self }
        let keep = columnUnixMs.indices.filter { j in
            (from.map { columnUnixMs[j] >= $0 } ?? true) && (to.map { columnUnixMs[j] < $0 } ?? true)
        }
        var m = self
        m.columnUnixMs = keep.map { columnUnixMs[$0] }
        m.unrouted = keep.map { unrouted[$0] }
        for i in m.rows.indices { m.rows[i].values = keep.map { rows[i].values[$0] } }
        m.events = events.filter { e in (from.map { e.unixMs >= $0 } ?? true) && (to.map { e.unixMs < $0 } ?? true) }
        return m
    }

    /// What one answer may hold: checked while decoding, so a peer's answer costs memory in
    /// proportion to what it sent and never more than these allow.
    public struct Limits: Sendable, Equatable {
        /// Columns in one answer (a node's finest tier holds at most
        /// `HeatMatrixSamplerConfiguration.maxHistoryColumns`).
        public var maxColumns: Int
        /// Rows in one answer (the fan-out asks for `rows=1024`).
        public var maxRows: Int
        /// Events in one answer (a node's change log keeps at most 1 000 000).
        public var maxEvents: Int

        public init(maxColumns: Int = HeatMatrixSamplerConfiguration.maxHistoryColumns, maxRows: Int = 1024, maxEvents: Int = 10_000) {
            self.maxColumns = maxColumns
            self.maxRows = maxRows
            self.maxEvents = maxEvents
        }
    }

    /// Why a matrix answer is refused, in words for the `nodes[].error` field.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Decodes a matrix body and checks it against what the merge assumes: a step in
    /// 1…`maxTierStepMilliseconds`, column stamps within `UnixTime.validMilliseconds` and
    /// strictly ascending, one value per column in every row and in `unrouted`, route counts of
    /// 1…2^32 (a row covers a route; a node has fewer routes than ids), a row's end after its start, and counts of
    /// columns, rows and events within `limits`. The error says which part is wrong.
    public static func decode(_ body: [UInt8], limits: Limits = Limits()) throws -> NodeMatrix {
        let w: Wire
        do {
            w = try Wire.read(body, limits: limits)
        } catch {
            throw DecodeError("not a matrix answer: \(error)")
        }
        func key(_ s: String, _ what: String) throws(DecodeError) -> [UInt8] {
            guard let d = Data(base64Encoded: s) else { throw DecodeError("\(what) is not base64") }
            return Array(d)
        }
        guard w.step_ms > 0, w.step_ms <= HeatMatrixSamplerConfiguration.maxTierStepMilliseconds else {
            throw DecodeError("step_ms \(w.step_ms) is not in 1…\(HeatMatrixSamplerConfiguration.maxTierStepMilliseconds)")
        }
        let n = w.column_unix_ms.count
        guard n <= max(0, limits.maxColumns) else { throw DecodeError("\(n) columns, over the cap of \(limits.maxColumns)") }
        guard w.rows.count <= max(0, limits.maxRows) else { throw DecodeError("\(w.rows.count) rows, over the cap of \(limits.maxRows)") }
        guard (w.events?.count ?? 0) <= max(0, limits.maxEvents) else { throw DecodeError("\(w.events?.count ?? 0) events, over the cap of \(limits.maxEvents)") }
        var previous: Int64?
        for t in w.column_unix_ms {
            guard UnixTime.validMilliseconds.contains(t) else { throw DecodeError("column stamp \(t) is out of range") }
            if let p = previous, t <= p { throw DecodeError("column stamps not ascending (\(t) after \(p))") }
            previous = t
        }
        guard w.unrouted.count == n else { throw DecodeError("unrouted has \(w.unrouted.count) values for \(n) columns") }
        var rows: [Row] = []
        rows.reserveCapacity(w.rows.count)
        for r in w.rows {
            guard r.values.count == n else { throw DecodeError("row \(r.row_id.prefix(80)) has \(r.values.count) values for \(n) columns") }
            guard r.route_count >= 1, r.route_count <= Int64(RouteID.limit.rawValue) else {
                throw DecodeError("row \(r.row_id.prefix(80)) has route_count \(r.route_count)")
            }
            let start = try key(r.start, "a row start"), end = try key(r.end, "a row end")
            guard end.isEmpty || start.lexicographicallyPrecedes(end) else { throw DecodeError("row \(r.row_id.prefix(80)) ends before it starts") }
            rows.append(Row(start: start, end: end, routeCount: Int(r.route_count), values: r.values))
        }
        var events: [RouteChangeEvent] = []
        for e in w.events ?? [] {
            guard let kind = RouteChangeEvent.Kind(rawValue: e.kind) else { continue }
            guard UnixTime.validMilliseconds.contains(e.unix_ms) else { throw DecodeError("event stamp \(e.unix_ms) is out of range") }
            guard e.before.count <= RouteChangeEvent.maxListedRoutes, e.after.count <= RouteChangeEvent.maxListedRoutes,
                  e.before_count >= Int64(e.before.count), e.after_count >= Int64(e.after.count),
                  e.before_count <= Int64(RouteID.limit.rawValue), e.after_count <= Int64(RouteID.limit.rawValue) else {
                throw DecodeError("an event lists \(e.before.count)/\(e.after.count) routes for counts \(e.before_count)/\(e.after_count)")
            }
            func routes(_ list: [Wire.EventRoute]) throws(DecodeError) -> [Route] {
                var out: [Route] = []
                for r in list {
                    guard r.route_id < RouteID.limit.rawValue else { throw DecodeError("event route id \(r.route_id) is out of range") }
                    let start = try key(r.start, "an event key"), end = try key(r.end, "an event key")
                    // As for rows (and the state file's routes): a route ends after it starts.
                    guard end.isEmpty || start.lexicographicallyPrecedes(end) else {
                        throw DecodeError("event route \(r.route_id) ends before it starts")
                    }
                    out.append(Route(id: RouteID(r.route_id), start: start, end: end, group: 0))
                }
                return out
            }
            events.append(RouteChangeEvent(kind: kind, unixMs: e.unix_ms, catalogVersion: e.catalog_version,
                                           before: try routes(e.before), beforeCount: Int(e.before_count),
                                           after: try routes(e.after), afterCount: Int(e.after_count)))
        }
        return NodeMatrix(series: w.series, generatedAt: String(w.generated_at?.prefix(64) ?? ""), stepMs: w.step_ms, columnUnixMs: w.column_unix_ms,
                          unrouted: w.unrouted, rows: rows, events: events, eventsDropped: w.events_dropped ?? 0,
                          nodeID: w.node_id.flatMap { $0.isEmpty ? nil : $0 })
    }

    // The JSON's own spelling, read by JSONReader with every count capped as it is read.
    private struct Wire {
        struct WireRow {
            var row_id = ""
            var start = ""
            var end = ""
            var route_count: Int64 = 0
            var values: [UInt64] = []
        }
        struct EventRoute {
            var route_id: UInt64 = 0
            var start = ""
            var end = ""
        }
        struct Event {
            var kind = ""
            var unix_ms: Int64 = 0
            var catalog_version: UInt64 = 0
            var before: [EventRoute] = []
            var before_count: Int64 = 0
            var after: [EventRoute] = []
            var after_count: Int64 = 0
        }
        var series = ""
        var node_id: String?
        var generated_at: String?
        var step_ms: Int64 = 0
        var column_unix_ms: [Int64] = []
        var unrouted: [UInt64] = []
        var rows: [WireRow] = []
        var events: [Event]?
        var events_dropped: UInt64?

        /// Longest string kept (keys are base64 of route bounds; a node's are far shorter).
        static let maxString = 4 << 20

        static func read(_ body: [UInt8], limits: Limits) throws -> Wire {
            var r = JSONReader(body)
            var w = Wire()
            var seen = Set<String>()
            let maxColumns = max(0, limits.maxColumns)
            func numbers<T>(_ what: String, cap: Int, _ one: (inout JSONReader) throws -> T) throws -> [T] {
                var out: [T] = []
                var first = true
                try r.beginArray()
                while try r.nextElement(&first) {
                    guard out.count < cap else { throw DecodeError("\(what): over the cap of \(cap)") }
                    out.append(try one(&r))
                }
                return out
            }
            func routes(_ what: String) throws -> [EventRoute] {
                var out: [EventRoute] = []
                var first = true
                try r.beginArray()
                while try r.nextElement(&first) {
                    guard out.count < RouteChangeEvent.maxListedRoutes else { throw DecodeError("\(what): over \(RouteChangeEvent.maxListedRoutes) routes") }
                    var e = EventRoute(), f = true
                    try r.beginObject()
                    while let k = try r.nextMember(&f) {
                        switch k {
                        case "route_id": e.route_id = try r.uint64()
                        case "start": e.start = try r.string(maxBytes: maxString)
                        case "end": e.end = try r.string(maxBytes: maxString)
                        default: try r.skipValue()
                        }
                    }
                    out.append(e)
                }
                return out
            }
            var first = true
            try r.beginObject()
            while let key = try r.nextMember(&first) {
                guard seen.insert(key).inserted else { throw DecodeError("duplicate member \(key)") }
                switch key {
                case "series": w.series = try r.string(maxBytes: 64)
                case "node_id": w.node_id = r.null() ? nil : try r.string(maxBytes: 256)
                case "generated_at": w.generated_at = r.null() ? nil : try r.string(maxBytes: 64)
                case "step_ms": w.step_ms = try r.int64()
                case "column_unix_ms": w.column_unix_ms = try numbers("columns", cap: maxColumns) { try $0.int64() }
                case "unrouted": w.unrouted = try numbers("unrouted values", cap: maxColumns) { try $0.uint64() }
                case "events_dropped": w.events_dropped = try r.uint64()
                case "rows":
                    var f = true
                    try r.beginArray()
                    while try r.nextElement(&f) {
                        guard w.rows.count < max(0, limits.maxRows) else { throw DecodeError("rows: over the cap of \(limits.maxRows)") }
                        var row = WireRow(), g = true
                        try r.beginObject()
                        while let k = try r.nextMember(&g) {
                            switch k {
                            case "row_id": row.row_id = try r.string(maxBytes: 256)
                            case "start": row.start = try r.string(maxBytes: maxString)
                            case "end": row.end = try r.string(maxBytes: maxString)
                            case "route_count": row.route_count = try r.int64()
                            case "values": row.values = try numbers("row values", cap: maxColumns) { try $0.uint64() }
                            default: try r.skipValue()
                            }
                        }
                        w.rows.append(row)
                    }
                case "events":
                    if r.null() { continue }
                    var events: [Event] = [], f = true
                    try r.beginArray()
                    while try r.nextElement(&f) {
                        guard events.count < max(0, limits.maxEvents) else { throw DecodeError("events: over the cap of \(limits.maxEvents)") }
                        var e = Event(), g = true
                        try r.beginObject()
                        while let k = try r.nextMember(&g) {
                            switch k {
                            case "kind": e.kind = try r.string(maxBytes: 64)
                            case "unix_ms": e.unix_ms = try r.int64()
                            case "catalog_version": e.catalog_version = try r.uint64()
                            case "before": e.before = try routes("an event's before")
                            case "before_count": e.before_count = try r.int64()
                            case "after": e.after = try routes("an event's after")
                            case "after_count": e.after_count = try r.int64()
                            default: try r.skipValue()
                            }
                        }
                        events.append(e)
                    }
                    w.events = events
                default:
                    try r.skipValue()
                }
            }
            try r.end()
            for required in ["series", "step_ms", "column_unix_ms", "unrouted", "rows"] where !seen.contains(required) {
                throw DecodeError("no \(required)")
            }
            return w
        }
    }
}
