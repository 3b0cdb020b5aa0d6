import Foundation
public import KeyViz

/// One node's hot-keys answer (`GET /api/v1/keyviz/hot-keys`), decoded and checked: what the
/// cluster view merges. Route ids are the node's own.
public struct NodeHotKeys: Sendable, Equatable {
    public struct Key: Sendable, Equatable {
        public var route: RouteID
        public var op: Op
        public var key: [UInt8]
        public var truncated: Bool
        public var estimatedOperations: UInt64
        /// 0…1.
        public var share: Double
        /// 0…1.
        public var shareErrorBound: Double
    }

    public var nodeID: String?
    public var sampleEvery: Int
    public var samplesTaken: UInt64
    public var samplesDropped: UInt64
    public var keys: [Key]

    /// Keys accepted in one answer (a node lists at most its hot routes × its sketch size).
    public static let maxKeys = 10_000
    /// Longest key accepted, in bytes (a node cuts sampled keys far shorter).
    public static let maxKeyBytes = 65_536

    /// Decodes and checks an answer: counts within 64 bits, shares and bounds finite in 0…1,
    /// route ids in range, ops `read`/`write`, keys base64 of at most ``maxKeyBytes``, at most
    /// ``maxKeys`` keys (checked as they are read). The error says which part is wrong.
    public static func decode(_ body: [UInt8]) throws -> NodeHotKeys {
        var r = JSONReader(body)
        var out = NodeHotKeys(nodeID: nil, sampleEvery: 0, samplesTaken: 0, samplesDropped: 0, keys: [])
        func fraction(_ what: String) throws -> Double {
            let d = try r.double()
            guard d.isFinite, d >= 0, d <= 1 else { throw NodeMatrix.DecodeError("\(what) \(d) is not in 0…1") }
            return d
        }
        var first = true
        try r.beginObject()
        while let member = try r.nextMember(&first) {
            switch member {
            case "node_id": out.nodeID = r.null() ? nil : try r.string(maxBytes: 256)
            case "sample_every":
                let n = try r.uint64()
                guard n <= UInt64(Int32.max) else { throw NodeMatrix.DecodeError("sample_every \(n) is out of range") }
                out.sampleEvery = Int(n)
            case "samples_taken": out.samplesTaken = try r.uint64()
            case "samples_dropped": out.samplesDropped = try r.uint64()
            case "keys":
                var f = true
                try r.beginArray()
                while try r.nextElement(&f) {
                    guard out.keys.count < maxKeys else { throw NodeMatrix.DecodeError("keys: over the cap of \(maxKeys)") }
                    var k = Key(route: 0, op: .read, key: [], truncated: false, estimatedOperations: 0, share: 0, shareErrorBound: 0)
                    var g = true
                    try r.beginObject()
                    while let name = try r.nextMember(&g) {
                        switch name {
                        case "route_id":
                            let id = try r.uint64()
                            guard id < RouteID.limit.rawValue else { throw NodeMatrix.DecodeError("route_id \(id) is out of range") }
                            k.route = RouteID(id)
                        case "op":
                            let text = try r.string(maxBytes: 16)
                            guard let op = Op.allCases.first(where: { $0.description == text }) else { throw NodeMatrix.DecodeError("op '\(text)'") }
                            k.op = op
                        case "key":
                            let text = try r.string(maxBytes: maxKeyBytes / 3 * 4 + 4)
                            guard let bytes = Data(base64Encoded: text) else { throw NodeMatrix.DecodeError("a key is not base64") }
                            k.key = Array(bytes)
                        case "truncated": k.truncated = try r.bool()
                        case "estimated_operations": k.estimatedOperations = try r.uint64()
                        case "share": k.share = try fraction("share")
                        case "share_error_bound": k.shareErrorBound = try fraction("share_error_bound")
                        default: try r.skipValue()
                        }
                    }
                    out.keys.append(k)
                }
            default:
                try r.skipValue()
            }
        }
        try r.end()
        return out
    }

    /// Merges nodes' hot keys the way space-saving summaries merge: per op and key, estimated
    /// operations and error bounds add up. A key's share is its operations over its routes'
    /// operations on the nodes that list it (each node's route operations are its estimate over
    /// its share), so a node that does not list a key adds nothing to it: its count there is
    /// below that node's smallest tracked one. The route id given is the one on the node with
    /// the most operations of the key (ids are per node). Hottest first, at most `limit`.
    public static func merge(_ answers: [NodeHotKeys], limit: Int) -> [HotKey] {
        struct Sum {
            var operations: UInt64 = 0
            var routeOperations: Double = 0
            var errorOperations: Double = 0
            var truncated = false
            var route: RouteID = 0
            var routeBest: UInt64 = 0
        }
        var sums: [Op: [[UInt8]: Sum]] = [:]
        for a in answers {
            for k in a.keys {
                var s = sums[k.op, default: [:]][k.key, default: Sum()]
                s.operations &+= k.estimatedOperations
                let routeOps = k.share > 0 ? Double(k.estimatedOperations) / k.share : Double(k.estimatedOperations)
                s.routeOperations += routeOps
                s.errorOperations += k.shareErrorBound * routeOps
                s.truncated = s.truncated || k.truncated
                if k.estimatedOperations >= s.routeBest { s.routeBest = k.estimatedOperations; s.route = k.route }
                sums[k.op, default: [:]][k.key] = s
            }
        }
        var out: [HotKey] = []
        for (op, keys) in sums {
            for (key, s) in keys {
                let routeSamples = max(s.operations, UInt64(min(s.routeOperations.rounded(), 1.8e19)))
                out.append(HotKey(route: s.route, op: op, key: key, truncated: s.truncated, sampledCount: s.operations,
                                  sampledError: UInt64(min(s.errorOperations.rounded(), 1.8e19, Double(routeSamples))),
                                  routeSamples: routeSamples, sampleEvery: 1))
            }
        }
        out.sort { a, b in
            if a.estimatedOperations != b.estimatedOperations { return a.estimatedOperations > b.estimatedOperations }
            if a.op != b.op { return a.op == .read }
            return a.key.lexicographicallyPrecedes(b.key)
        }
        return Array(out.prefix(max(0, limit)))
    }
}
