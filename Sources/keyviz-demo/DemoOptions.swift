/// The demo node's command line. Every flag has a default; `--help` prints them.
struct DemoOptions: Sendable {
    var routes = 64
    var groups = 4
    var rate = 20_000
    var workers = 2
    var duration = 0.0
    var seed: UInt64 = 1
    var hotspotPeriod = 30.0
    var churnPeriod = 5.0
    var step = 1.0
    var statusEvery = 2.0
    var skew = 6.0
    var linger = 0.0
    var keys = 10_000
    var versions = 8
    var historyColumns = 1440
    var churnRemovals = 0.0
    var listen = "127.0.0.1:9477"
    var buckets = 256
    var hotRoutes = 5
    var hotKeySampleEvery = 64
    var maxScrapes = 8
    var maxConnections = 64
    var connectionTimeout = 10
    var basicAuthFile: String?
    var tlsCert: String?
    var tlsKey: String?

    struct Flag: Sendable {
        let name: String
        let help: String
        let apply: @Sendable (inout DemoOptions, String) throws(DemoOptionsError) -> Void
        let current: @Sendable (DemoOptions) -> String
    }

    static let flags: [Flag] = [
        int("--routes", "initial number of routes (1…1000000)", \.routes, 1...1_000_000),
        int("--groups", "number of shard groups (1…1024)", \.groups, 1...1024),
        int("--rate", "operations per second across all workers (0 = idle)", \.rate, 0...100_000_000),
        int("--workers", "worker threads issuing operations (1…64)", \.workers, 1...64),
        double("--duration", "seconds to run; 0 = until SIGINT/SIGTERM", \.duration, 0...31_536_000),
        Flag(name: "--seed", help: "seed for the catalog churn and the workload", apply: { o, v throws(DemoOptionsError) in
            guard let s = UInt64(v) else { throw .badValue("--seed", v, "a non-negative integer") }
            o.seed = s
        }, current: { String($0.seed) }),
        double("--hotspot-period", "seconds between hotspot moves", \.hotspotPeriod, 0.001...86_400),
        double("--churn-period", "seconds between random splits/merges; 0 = none", \.churnPeriod, 0...86_400),
        double("--step", "heat-matrix column width in seconds", \.step, 0.001...86_400),
        double("--status-every", "seconds between status lines on stderr", \.statusEvery, 0.1...3600),
        string("--listen", "HOST:PORT to serve /metrics on; port 0 picks a free port", \.listen),
        int("--buckets", "bucket budget of the Prometheus metrics (1…4096)", \.buckets, 1...4096),
        int("--hot-routes", "hot routes ranked per op (0…100)", \.hotRoutes, 0...100),
        int("--hot-key-sample-every", "sample 1 in N keys per thread for the hot-key sketches (1…1048576)", \.hotKeySampleEvery, 1...1_048_576),
        int("--max-connections", "open HTTP connections at most, one thread each (1…10000)", \.maxConnections, 1...10_000),
        int("--connection-timeout", "seconds an HTTP connection may sit idle or take to send a request's headers (1…3600)", \.connectionTimeout, 1...3600),
        int("--max-scrapes", "concurrent /metrics requests before 503 (1…1024)", \.maxScrapes, 1...1024),
        optionalString("--basic-auth-file", "file of 'user:crypt-hash' lines; enables basic auth", \.basicAuthFile),
        optionalString("--tls-cert", "PEM certificate chain; enables TLS with --tls-key", \.tlsCert),
        optionalString("--tls-key", "PEM private key for --tls-cert", \.tlsKey),
        double("--skew", "workload skew exponent (1 = uniform)", \.skew, 1...100),
        int("--keys", "distinct keys the workload uses, spread over the key space; bounds the store (1…100000000)", \.keys, 1...100_000_000),
        int("--versions", "versions the store keeps per key (1…1000); with --keys, bounds the store", \.versions, 1...1000),
        double("--churn-removals", "fraction of churn events that remove the last route or add it back (0…1)", \.churnRemovals, 0...1),
        int("--history-columns", "heat-matrix columns kept (1…100000)", \.historyColumns, 1...100_000),
        double("--linger", "after --duration, seconds to keep serving with the workload stopped (prints the observed totals first)", \.linger, 0...86_400),
    ]

    static func parse(_ args: [String]) throws(DemoOptionsError) -> DemoOptions {
        var o = DemoOptions()
        var i = 0
        while i < args.count {
            let arg = args[i]
            if arg == "--help" || arg == "-h" { throw .helpRequested }
            var name = arg, value: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                value = String(arg[arg.index(after: eq)...])
            }
            guard let flag = flags.first(where: { $0.name == name }) else { throw .unknownFlag(arg) }
            if value == nil {
                i += 1
                guard i < args.count else { throw .missingValue(name) }
                value = args[i]
            }
            try flag.apply(&o, value!)
            i += 1
        }
        return o
    }

    static func usage() -> String {
        var lines = ["usage: keyviz-demo [flags]", "", "A demo KeyViz node: a sharded coordinator under a skewed workload, sampled into a heat matrix.", "", "flags:"]
        let defaults = DemoOptions()
        for f in flags {
            lines.append("  \(f.name.padding(22))\(f.help) (default \(f.current(defaults)))")
        }
        lines.append("  --help                print this help")
        return lines.joined(separator: "\n")
    }

    private static func int(_ name: String, _ help: String, _ kp: WritableKeyPath<DemoOptions, Int> & Sendable, _ range: ClosedRange<Int>) -> Flag {
        Flag(name: name, help: help, apply: { o, v throws(DemoOptionsError) in
            guard let n = Int(v) else { throw .badValue(name, v, "an integer") }
            guard range.contains(n) else { throw .badValue(name, v, "an integer in \(range.lowerBound)…\(range.upperBound)") }
            o[keyPath: kp] = n
        }, current: { String($0[keyPath: kp]) })
    }

    private static func string(_ name: String, _ help: String, _ kp: WritableKeyPath<DemoOptions, String> & Sendable) -> Flag {
        Flag(name: name, help: help, apply: { o, v throws(DemoOptionsError) in
            guard !v.isEmpty else { throw .badValue(name, v, "a non-empty value") }
            o[keyPath: kp] = v
        }, current: { $0[keyPath: kp] })
    }

    private static func optionalString(_ name: String, _ help: String, _ kp: WritableKeyPath<DemoOptions, String?> & Sendable) -> Flag {
        Flag(name: name, help: help, apply: { o, v throws(DemoOptionsError) in
            guard !v.isEmpty else { throw .badValue(name, v, "a path") }
            o[keyPath: kp] = v
        }, current: { $0[keyPath: kp] ?? "none" })
    }

    private static func double(_ name: String, _ help: String, _ kp: WritableKeyPath<DemoOptions, Double> & Sendable, _ range: ClosedRange<Double>) -> Flag {
        Flag(name: name, help: help, apply: { o, v throws(DemoOptionsError) in
            guard let d = Double(v), d.isFinite else { throw .badValue(name, v, "a number") }
            guard range.contains(d) else { throw .badValue(name, v, "a number in \(range.lowerBound)…\(range.upperBound)") }
            o[keyPath: kp] = d
        }, current: { String($0[keyPath: kp]) })
    }
}

enum DemoOptionsError: Error, CustomStringConvertible {
    case helpRequested
    case unknownFlag(String)
    case missingValue(String)
    case badValue(String, String, String)

    var description: String {
        switch self {
        case .helpRequested: "help requested"
        case .unknownFlag(let f): "unknown flag '\(f)' (see --help)"
        case .missingValue(let f): "flag \(f) needs a value"
        case .badValue(let f, let v, let want): "bad value '\(v)' for \(f): want \(want)"
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
