import Foundation

/// What a matrix answer must satisfy beyond its schema, per boundary.
package struct MatrixRules: Sendable {
    /// Rows at most: the request's row budget.
    package var maxRows: Int
    /// Columns at most (`ClusterMatrixMerger.defaultMaxColumns`, `PrometheusView.maxColumns`, a
    /// node's history).
    package var maxColumns: Int
    /// The `scope` member the answer must have (`cluster`, `prometheus`), nil for none.
    package var scope: String?
    /// Column stamps strictly ascending (merged and Prometheus answers: one grid).
    package var ascendingColumns = false
    /// Every column on one grid of `step_ms` (the Prometheus view's query grid).
    package var gridColumns = false
    /// Rows in key order and disjoint (the cluster merge's key ranges).
    package var disjointRows = false

    package init(maxRows: Int, maxColumns: Int, scope: String? = nil, ascendingColumns: Bool = false, gridColumns: Bool = false,
                 disjointRows: Bool = false) {
        self.maxRows = maxRows
        self.maxColumns = maxColumns
        self.scope = scope
        self.ascendingColumns = ascendingColumns
        self.gridColumns = gridColumns
        self.disjointRows = disjointRows
    }
}

/// A matrix answer that passed the checks, as exact numbers.
package struct CheckedMatrix: Sendable {
    package struct Row: Sendable {
        package var start: [UInt8]
        package var end: [UInt8]
        package var routeCount: UInt64
        package var values: [UInt64]
    }
    package struct Node: Sendable {
        package var node: String
        package var ok: Bool
        package var columns: UInt64
        /// `duplicate_of` names the node it was counted under (same `node_id`): not counted again.
        package var duplicate: Bool
    }
    package var stepMs: Int64
    package var columns: [UInt64]
    package var unrouted: [UInt64]
    package var rows: [Row]
    package var nodes: [Node]
    package var events: Int

    /// Every cell of every row, summed (wrapping, as the merge sums).
    package var cellTotal: UInt64 { rows.reduce(0) { t, r in r.values.reduce(t, &+) } }
    package var unroutedTotal: UInt64 { unrouted.reduce(0, &+) }
}

/// The answer checks shared by the targets: every JSON answer parses (Foundation's
/// `JSONSerialization` and ``StrictJSON``), and has the shape docs/openapi.yaml gives it.
package enum AnswerChecks {
    static let matrixMembers: Set<String> = ["series", "generated_at", "step_ms", "column_unix_ms", "unrouted", "rows", "events", "events_dropped", "scope", "nodes"]
    static let rowMembers: Set<String> = ["row_id", "start", "end", "start_preview", "end_preview", "aggregate", "route_ids", "route_ids_truncated", "route_count", "values"]
    static let eventMembers: Set<String> = ["kind", "unix_ms", "catalog_version", "node", "before", "before_count", "after", "after_count"]
    static let eventRouteMembers: Set<String> = ["route_id", "start", "end", "start_preview", "end_preview"]
    static let nodeMembers: Set<String> = ["node", "ok", "error", "columns"]
    static let series: Set<String> = ["reads", "writes", "read_bytes", "write_bytes"]

    /// Parses with Foundation, then strictly; the strict value, or nil (failure recorded).
    static func parse(_ body: [UInt8], _ what: String, _ o: inout FuzzOutcome) -> JSONValue? {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            o.fail("\(what): JSONSerialization refuses the answer: \(error) — \(excerpt(body))")
            return nil
        }
        switch StrictJSON.parse(body) {
        case .success(let v): return v
        case .failure(let e):
            o.fail("\(what): not strict JSON: \(e) — \(excerpt(body))")
            return nil
        }
    }

    static func excerpt(_ body: [UInt8]) -> String {
        String(decoding: body.prefix(300), as: UTF8.self) + (body.count > 300 ? "…" : "")
    }

    /// Checks one answer of the matrix API by its status, records it for `--emit`, and returns
    /// the matrix when it is a 200.
    @discardableResult
    package static func matrixResponse(status: Int, body: [UInt8], rules: MatrixRules, allowed: Set<Int> = [200, 400], _ what: String,
                                       _ o: inout FuzzOutcome) -> CheckedMatrix? {
        o.check(allowed.contains(status), "\(what): status \(status), want one of \(allowed.sorted()) — \(excerpt(body))")
        if status == 200 {
            o.answers.append(.init(schema: "Matrix", label: what, status: status, body: body))
            return matrix(body, rules: rules, what, &o)
        }
        o.answers.append(.init(schema: "Error", label: what, status: status, body: body))
        error(body, what, &o)
        return nil
    }

    /// `{"code","message"}`, strings, nothing else.
    package static func error(_ body: [UInt8], _ what: String, _ o: inout FuzzOutcome) {
        guard let v = parse(body, what, &o) else { return }
        guard let m = v.members else { o.fail("\(what): an error answer that is not an object"); return }
        o.check(Set(["code", "message"]).isSubset(of: Set(m.map(\.key))), "\(what): error members \(m.map(\.key))")
        o.check(v["code"]?.text != nil && v["message"]?.text != nil, "\(what): error code and message must be strings")
    }

    /// The hot-keys answer's shape (docs/openapi.yaml `HotKeys`).
    package static func hotKeys(_ body: [UInt8], _ what: String, _ o: inout FuzzOutcome) {
        o.answers.append(.init(schema: "HotKeys", label: what, status: 200, body: body))
        guard let v = parse(body, what, &o), let m = v.members else { o.fail("\(what): hot keys not an object"); return }
        o.check(Set(["generated_at", "route_id", "sample_every", "samples_taken", "samples_dropped", "keys"]).isSubset(of: Set(m.map(\.key))),
                "\(what): hot-keys members \(m.map(\.key))")
        o.check(v["route_id"].map { $0.isNull || $0.uint64 != nil } == true, "\(what): route_id must be an id or null")
        for name in ["sample_every", "samples_taken", "samples_dropped"] {
            o.check(v[name]?.uint64 != nil, "\(what): \(name) must be a non-negative integer")
        }
        guard let keys = v["keys"]?.elements else { o.fail("\(what): keys must be an array"); return }
        for k in keys {
            o.check(k["op"]?.text == "read" || k["op"]?.text == "write", "\(what): a key's op must be read or write")
            o.check(k["key"]?.text.flatMap(base64) != nil, "\(what): a key must be base64")
            o.check(k["route_id"]?.uint64 != nil && k["estimated_operations"]?.uint64 != nil, "\(what): a key's counts must be integers")
            for name in ["share", "share_error_bound"] {
                guard case .number(let t)? = k[name], let d = Double(t) else { o.fail("\(what): \(name) must be a number"); continue }
                o.check(d >= 0 && d <= 1, "\(what): \(name) \(t) not in 0…1")
            }
        }
    }

    /// A matrix answer: its schema (docs/openapi.yaml `Matrix`) and `rules`.
    @discardableResult
    package static func matrix(_ body: [UInt8], rules: MatrixRules, _ what: String, _ o: inout FuzzOutcome) -> CheckedMatrix? {
        guard let v = parse(body, what, &o) else { return nil }
        guard let top = v.members else { o.fail("\(what): not an object"); return nil }
        let before = o.failures.count
        // Required members only: unknown ones are the schema validation's to find (scripts/fuzz.sh).
        let names = Set(top.map(\.key))
        for name in matrixMembers.subtracting(["scope", "nodes"]) where !names.contains(name) { o.fail("\(what): no \(name)") }
        o.check(v["series"]?.text.map(series.contains) == true, "\(what): series \(String(describing: v["series"]?.text))")
        if let g = v["generated_at"]?.text {
            o.check(rfc3339(g), "\(what): generated_at '\(g.prefix(80))' is not RFC 3339 with milliseconds")
        } else {
            o.fail("\(what): generated_at must be a string")
        }
        let step = v["step_ms"]?.int64 ?? 0
        o.check(step >= 1, "\(what): step_ms must be a positive integer")
        let columns = integers(v["column_unix_ms"], "column_unix_ms", what, &o)
        let n = columns.count
        o.check(n <= rules.maxColumns, "\(what): \(n) columns, over the cap of \(rules.maxColumns)")
        if rules.ascendingColumns {
            o.check(zip(columns, columns.dropFirst()).allSatisfy { $0 < $1 }, "\(what): column stamps not strictly ascending")
        }
        if rules.gridColumns, step >= 1, let c0 = columns.first {
            o.check(columns.allSatisfy { $0 >= c0 && ($0 - c0) % UInt64(step) == 0 }, "\(what): columns off one grid of step_ms \(step)")
        }
        let unrouted = integers(v["unrouted"], "unrouted", what, &o)
        o.check(unrouted.count == n, "\(what): unrouted has \(unrouted.count) values for \(n) columns")
        var rows: [CheckedMatrix.Row] = []
        let rowValues = v["rows"]?.elements ?? []
        o.check(v["rows"]?.elements != nil, "\(what): rows must be an array")
        o.check(rowValues.count <= rules.maxRows, "\(what): \(rowValues.count) rows, over the budget of \(rules.maxRows)")
        for (i, r) in rowValues.enumerated() {
            let label = "\(what): row \(i)"
            guard let m = r.members else { o.fail("\(label) is not an object"); continue }
            o.check(rowMembers.isSubset(of: Set(m.map(\.key))), "\(label): members \(m.map(\.key))")
            let id = r["row_id"]?.text ?? ""
            o.check(rowID(id), "\(label): row_id '\(id.prefix(80))'")
            let (start, end) = bounds(r, label, &o)
            let values = integers(r["values"], "values", label, &o)
            o.check(values.count == n, "\(label) has \(values.count) values for \(n) columns")
            o.check(r["aggregate"]?.bool != nil && r["route_ids_truncated"]?.bool != nil, "\(label): aggregate and route_ids_truncated must be booleans")
            let ids = integers(r["route_ids"], "route_ids", label, &o)
            o.check(ids.count <= 256, "\(label): \(ids.count) route ids, over 256")
            let count = r["route_count"]?.uint64
            o.check((count ?? 0) >= 1, "\(label): route_count \(String(describing: r["route_count"])) must be an integer of at least 1")
            rows.append(.init(start: start, end: end, routeCount: count ?? 0, values: values))
        }
        if rules.disjointRows {
            for (a, b) in zip(rows, rows.dropFirst()) {
                o.check(a.start.lexicographicallyPrecedes(b.start), "\(what): rows not in key order")
                o.check(!a.end.isEmpty && !b.start.lexicographicallyPrecedes(a.end), "\(what): rows overlap")
            }
        }
        var eventCount = 0
        if let events = v["events"]?.elements {
            eventCount = events.count
            for (i, e) in events.enumerated() { event(e, "\(what): event \(i)", &o) }
        } else {
            o.fail("\(what): events must be an array")
        }
        o.check(v["events_dropped"]?.uint64 != nil, "\(what): events_dropped must be a non-negative integer")
        o.check(v["scope"]?.text == rules.scope, "\(what): scope \(String(describing: v["scope"]?.text)), want \(String(describing: rules.scope))")
        o.check((v["nodes"] != nil) == (rules.scope != nil), "\(what): nodes present only with a scope")
        var nodes: [CheckedMatrix.Node] = []
        if let list = v["nodes"] {
            for (i, x) in (list.elements ?? []).enumerated() {
                let label = "\(what): node \(i)"
                o.check(x.members.map { nodeMembers.isSubset(of: Set($0.map(\.key))) } == true, "\(label): members \(x.members?.map(\.key) ?? [])")
                let ok = x["ok"]?.bool
                o.check(ok != nil, "\(label): ok must be a boolean")
                o.check(x["error"].map { $0.isNull == (ok == true) && ($0.isNull || $0.text != nil) } == true, "\(label): error must be null exactly when ok")
                o.check(x["node"]?.text != nil && x["columns"]?.uint64 != nil, "\(label): node and columns")
                nodes.append(.init(node: x["node"]?.text ?? "", ok: ok ?? false, columns: x["columns"]?.uint64 ?? 0,
                                   duplicate: x["duplicate_of"]?.text != nil))
            }
        }
        guard o.failures.count == before else { return nil }
        return CheckedMatrix(stepMs: step, columns: columns, unrouted: unrouted, rows: rows, nodes: nodes, events: eventCount)
    }

    static func event(_ e: JSONValue, _ what: String, _ o: inout FuzzOutcome) {
        guard let m = e.members else { o.fail("\(what) is not an object"); return }
        let names = Set(m.map(\.key))
        o.check(eventMembers.subtracting(["node"]).isSubset(of: names), "\(what): members \(m.map(\.key))")
        o.check(["split", "merge", "add", "remove", "reshape"].contains(e["kind"]?.text ?? ""), "\(what): kind")
        o.check(e["unix_ms"]?.uint64 != nil && e["catalog_version"]?.uint64 != nil, "\(what): unix_ms and catalog_version")
        o.check(e["node"].map { $0.text != nil } ?? true, "\(what): node must be a string")
        for side in ["before", "after"] {
            let routes = e[side]?.elements
            o.check(routes != nil && routes!.count <= 64, "\(what): \(side) must be an array of at most 64")
            o.check(e[side + "_count"]?.uint64 != nil, "\(what): \(side)_count")
            for r in routes ?? [] {
                o.check(r.members.map { eventRouteMembers.isSubset(of: Set($0.map(\.key))) } == true, "\(what): a route's members")
                o.check(r["route_id"]?.uint64 != nil, "\(what): route_id")
                _ = bounds(r, what, &o)
            }
        }
    }

    /// `start`, `end` (base64, end after start unless empty) and their previews (1…64 code points).
    static func bounds(_ v: JSONValue, _ what: String, _ o: inout FuzzOutcome) -> ([UInt8], [UInt8]) {
        let start = v["start"]?.text.flatMap(base64), end = v["end"]?.text.flatMap(base64)
        o.check(start != nil && end != nil, "\(what): start and end must be base64")
        if let start, let end { o.check(end.isEmpty || start.lexicographicallyPrecedes(end), "\(what): end not after start") }
        for name in ["start_preview", "end_preview"] {
            let n = v[name]?.text?.unicodeScalars.count ?? 0
            o.check(n >= 1 && n <= 64, "\(what): \(name) of \(n) code points, want 1…64")
        }
        return (start ?? [], end ?? [])
    }

    static func integers(_ v: JSONValue?, _ name: String, _ what: String, _ o: inout FuzzOutcome) -> [UInt64] {
        guard let list = v?.elements else { o.fail("\(what): \(name) must be an array"); return [] }
        var out: [UInt64] = []
        out.reserveCapacity(list.count)
        for x in list {
            guard let u = x.uint64 else { o.fail("\(what): \(name) holds \(x), not an integer of 0…2^64-1"); return out }
            out.append(u)
        }
        return out
    }

    static func rowID(_ s: String) -> Bool {
        func digits(_ t: Substring) -> Bool { !t.isEmpty && t.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
        if s.hasPrefix("route:") { return digits(s.dropFirst(6)) }
        if s.hasPrefix("range:") { return digits(s.dropFirst(6)) }
        if s.hasPrefix("aggregate:") {
            let parts = s.dropFirst(10).split(separator: "+", omittingEmptySubsequences: false)
            return parts.count == 2 && digits(parts[0]) && digits(parts[1])
        }
        return false
    }

    /// `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$`
    static func rfc3339(_ s: String) -> Bool {
        let shape = Array("dddd-dd-ddTdd:dd:dd.dddZ".utf8)
        let b = Array(s.utf8)
        guard b.count == shape.count else { return false }
        return zip(b, shape).allSatisfy { c, want in want == UInt8(ascii: "d") ? (c >= 48 && c <= 57) : c == want }
    }

    /// Standard base64 with padding, as the API writes it; nil when not that.
    package static func base64(_ s: String) -> [UInt8]? {
        let b = Array(s.utf8)
        guard b.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var acc: UInt32 = 0, bits = 0
        for (i, c) in b.enumerated() {
            if c == UInt8(ascii: "=") {
                guard i >= b.count - 2, b[i...].allSatisfy({ $0 == UInt8(ascii: "=") }) else { return nil }
                break
            }
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - 48 + 52)
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            default: return nil
            }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
