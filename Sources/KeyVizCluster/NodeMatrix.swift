import Foundation
import KeyViz

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
    /// The node's `generated_at`.
    public var generatedAt: String
    public var stepMs: Int64
    public var columnUnixMs: [Int64]
    public var unrouted: [UInt64]
    public var rows: [Row]
    public var events: [RouteChangeEvent]
    public var eventsDropped: UInt64

    public init(series: String, generatedAt: String = "", stepMs: Int64, columnUnixMs: [Int64], unrouted: [UInt64], rows: [Row],
                events: [RouteChangeEvent] = [], eventsDropped: UInt64 = 0) {
        self.series = series
        self.generatedAt = generatedAt
        self.stepMs = stepMs
        self.columnUnixMs = columnUnixMs
        self.unrouted = unrouted
        self.rows = rows
        self.events = events
        self.eventsDropped = eventsDropped
    }

    /// Decodes a matrix body; the error says which part is wrong.
    public static func decode(_ body: [UInt8]) throws -> NodeMatrix {
        let w = try JSONDecoder().decode(Wire.self, from: Data(body))
        func key(_ s: String, _ what: String) throws -> [UInt8] {
            guard let d = Data(base64Encoded: s) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(what) is not base64")) }
            return Array(d)
        }
        let n = w.column_unix_ms.count
        guard w.unrouted.count == n else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unrouted has \(w.unrouted.count) values for \(n) columns")) }
        var rows: [Row] = []
        for r in w.rows {
            guard r.values.count == n else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "row \(r.row_id) has \(r.values.count) values for \(n) columns")) }
            rows.append(Row(start: try key(r.start, "a row start"), end: try key(r.end, "a row end"), routeCount: r.route_count, values: r.values))
        }
        var events: [RouteChangeEvent] = []
        for e in w.events ?? [] {
            guard let kind = RouteChangeEvent.Kind(rawValue: e.kind) else { continue }
            func routes(_ list: [Wire.EventRoute]) throws -> [Route] {
                try list.map { Route(id: RouteID($0.route_id), start: try key($0.start, "an event key"), end: try key($0.end, "an event key"), group: 0) }
            }
            events.append(RouteChangeEvent(kind: kind, unixMs: e.unix_ms, catalogVersion: e.catalog_version,
                                           before: try routes(e.before), beforeCount: e.before_count,
                                           after: try routes(e.after), afterCount: e.after_count))
        }
        return NodeMatrix(series: w.series, generatedAt: w.generated_at ?? "", stepMs: w.step_ms, columnUnixMs: w.column_unix_ms, unrouted: w.unrouted, rows: rows,
                          events: events, eventsDropped: w.events_dropped ?? 0)
    }

    // The JSON's own spelling, for the decoder.
    private struct Wire: Decodable {
        struct WireRow: Decodable {
            var row_id: String
            var start: String
            var end: String
            var route_count: Int
            var values: [UInt64]
        }
        struct EventRoute: Decodable {
            var route_id: UInt64
            var start: String
            var end: String
        }
        struct Event: Decodable {
            var kind: String
            var unix_ms: Int64
            var catalog_version: UInt64
            var before: [EventRoute]
            var before_count: Int
            var after: [EventRoute]
            var after_count: Int
        }
        var series: String
        var generated_at: String?
        var step_ms: Int64
        var column_unix_ms: [Int64]
        var unrouted: [UInt64]
        var rows: [WireRow]
        var events: [Event]?
        var events_dropped: UInt64?
    }
}
