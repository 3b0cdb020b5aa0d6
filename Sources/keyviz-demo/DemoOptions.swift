#if Demo  // the demo is built with its trait only (Package.swift)
import ArgumentParser
import KeyVizCluster
import KeyVizStateFile
import Foundation
import KeyViz

/// The demo node's command line, parsed by swift-argument-parser. Every flag has a default;
/// `--help` prints them. Ranges are checked in ``validate()`` with one clear message each.
struct DemoOptions: ParsableCommand, Sendable {
    static let configuration = CommandConfiguration(
        commandName: "keyviz-demo",
        abstract: "A demo KeyViz node: a sharded coordinator under a skewed workload, sampled into a heat matrix and served over HTTP.")

    // MARK: the store and its workload

    @Option(help: "Initial number of routes (1…1000000).")
    var routes = 64
    @Option(help: "Number of shard groups (1…1024).")
    var groups = 4
    @Option(help: "Operations per second across all workers (0 = idle).")
    var rate = 20_000
    @Option(help: "Worker threads issuing operations (1…64).")
    var workers = 2
    @Option(help: "Seconds to run; 0 = until SIGINT/SIGTERM.")
    var duration = 0.0
    @Option(help: "Seed for the catalog churn and the workload.")
    var seed: UInt64 = 1
    @Option(help: "Seconds between hotspot moves (0.001…86400).")
    var hotspotPeriod = 30.0
    @Option(help: "Workload skew exponent (1 = uniform, …100). Default 16: one route takes about 70-78% of the traffic, so the hot-route alert fires clearly (and a third of it is one key, which no split spreads); 4 with --auto-split (a hot range that splits can spread).")
    var skew: Double?
    @Option(help: "Distinct keys the workload uses, spread over the key space; bounds the store (1…100000000).")
    var keys = 10_000
    @Option(help: "Versions the store keeps per key (1…1000); with --keys, bounds the store.")
    var versions = 8
    @Option(help: "Seconds between random splits/merges; 0 = none. Default 5; 0 with --auto-split (random merges would undo its splits).")
    var churnPeriod: Double?
    @Option(help: "Fraction of churn events that remove the last route (dropping its data) or add it back (0…1).")
    var churnRemovals = 0.0

    // MARK: sampling

    @Option(help: "Heat-matrix column width in seconds (0.001…86400).")
    var step = 1.0
    @Option(help: "Heat-matrix columns kept at --step, the finest tier (1…100000).")
    var historyColumns = 3600
    @Option(help: "Coarser history tiers after the finest, finest first: STEP_SECONDS:COLUMNS,… (each step a multiple of the one before, --step first; columns 1…100000; at most 8 tiers), or 'none'.")
    var tiers = "60:1440,600:1008"
    @Option(help: "Route changes (splits, merges, …) the heat matrix keeps for the page's time axis; older ones are dropped and counted (1…1000000).")
    var routeChangeEvents = RouteChangeLog.defaultCapacity
    @Option(help: "Bucket budget of the Prometheus metrics (1…4096).")
    var buckets = 256
    @Option(help: "Hot routes (and hot keys) ranked per op (0…100).")
    var hotRoutes = 5
    @Option(help: "Sample 1 in N keys per thread for the hot-key sketches (1…1048576).")
    var hotKeySampleEvery = 64
    @Flag(help: "Split the hottest route at KeyViz's advised key (GET /api/v1/keyviz/split-advice) when the advice is stable, balanced and the cooldown has passed; without it the demo only shows the advice.")
    var autoSplit = false
    @Option(help: "With --auto-split: seconds between two splits (1…3600). Default 5.")
    var autoSplitCooldown: Double?
    @Option(help: "With --auto-split: the least predicted balance worth a split (0.5…1; 1 = exact halves). Default 0.8.")
    var autoSplitMinBalance: Double?
    @Option(help: "Seconds between status lines on stderr (0.1…3600).")
    var statusEvery = 2.0
    @Option(help: "After --duration, seconds to keep serving with the workload stopped (prints the observed totals first).")
    var linger = 0.0

    // MARK: keeping the history across restarts

    @Option(help: "Directory for the matrix history (DIR/matrix.state): loaded at start, saved every --state-save-every seconds and at exit. Off when not given.")
    var stateDir: String?
    @Option(help: "Seconds between saves of the matrix history with --state-dir (1…86400).")
    var stateSaveEvery = 300.0
    @Option(help: "Decode the state file FILE, print what it holds and exit (0: good, 1: unusable or missing); starts no node.")
    var checkState: String?

    // MARK: the server

    @Option(help: "HOST:PORT to serve /metrics on; port 0 picks a free port.")
    var listen = "127.0.0.1:9477"
    @Option(help: "Open HTTP connections at most; more wait in the kernel's backlog (1…10000).")
    var maxConnections = 64
    @Option(help: "Open HTTP connections from one client IP address at most, so one host cannot take them all (1…10000; --max-connections when larger).")
    var maxConnectionsPerClient = 16
    @Option(help: "Seconds an HTTP connection may sit idle or take to send a request (1…3600).")
    var connectionTimeout = 10
    @Option(help: "Concurrent /metrics requests before 503 (1…1024).")
    var maxScrapes = 8
    @Option(help: "File of 'user:crypt-hash' lines; enables basic auth.")
    var basicAuthFile: String?
    @Option(help: "PEM certificate chain; enables TLS with --tls-key.")
    var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    // MARK: the cluster view

    @Option(help: "Peers whose matrices ?scope=cluster merges with this node's: host:port,… (plain HTTP).")
    var peers = ""
    @Option(help: "Seconds a peer has to answer a cluster request, connect to last byte (0.001…60).")
    var peerTimeout = 2.0
    @Option(help: "Largest matrix body accepted from a peer, bytes (1024…1073741824).")
    var peerMaxBody = 32 << 20
    @Option(help: "File with one 'user:password' line sent to every peer as basic auth.")
    var peerCredentialsFile: String?
    @Option(help: "Seconds a failed peer's last good answer is merged in its place, marked stale (0…604800; 0 = never).")
    var peerRemember = 3600.0
    @Option(help: "This node's id in cluster answers (letters, digits, . _ - :; at most 128): each id is counted once, so every node may list every node in --peers, itself included. Default: the id kept in --state-dir (made once), else a random id per start.")
    var nodeID: String?
    @Option(help: "http://host:port of a Prometheus that scrapes the nodes: enables ?scope=prometheus (the page's Prometheus view).")
    var prometheusURL: String?
    @Option(help: "Step of the Prometheus view in seconds, at least twice the scrape interval (1…3600).")
    var prometheusStep = 15.0
    @Option(help: "Label matchers of this store's series in that Prometheus, e.g. '{job=\"keyviz\"}'; required with --prometheus-url, since a Prometheus may scrape other stores ('{}' sums them all).")
    var prometheusSelector: String?

    func validate() throws {
        try Self.check("--routes", routes, 1...1_000_000)
        try Self.check("--groups", groups, 1...1024)
        try Self.check("--rate", rate, 0...100_000_000)
        try Self.check("--workers", workers, 1...64)
        try Self.check("--duration", duration, 0...31_536_000)
        try Self.check("--hotspot-period", hotspotPeriod, 0.001...86_400)
        try Self.check("--skew", effectiveSkew, 1...100)
        try Self.check("--keys", keys, 1...100_000_000)
        try Self.check("--versions", versions, 1...1000)
        try Self.check("--churn-period", effectiveChurnPeriod, 0...86_400)
        for (flag, value) in [("--auto-split-cooldown", autoSplitCooldown), ("--auto-split-min-balance", autoSplitMinBalance)]
        where value != nil && !autoSplit {
            throw ValidationError("\(flag) needs --auto-split (without it nothing is split)")
        }
        try Self.check("--auto-split-cooldown", effectiveAutoSplitCooldown, 1...3600)
        try Self.check("--auto-split-min-balance", effectiveAutoSplitMinBalance, 0.5...1)
        try Self.check("--churn-removals", churnRemovals, 0...1)
        try Self.check("--step", step, 0.001...86_400)
        try Self.check("--history-columns", historyColumns, 1...100_000)
        _ = try coarserTiers()
        try Self.check("--route-change-events", routeChangeEvents, 1...1_000_000)
        try Self.check("--state-save-every", stateSaveEvery, 1...86_400)
        for (flag, path) in [("--state-dir", stateDir), ("--check-state", checkState)] where path == "" {
            throw ValidationError("bad value '' for \(flag): want a path")
        }
        try Self.check("--buckets", buckets, 1...4096)
        try Self.check("--hot-routes", hotRoutes, 0...100)
        try Self.check("--hot-key-sample-every", hotKeySampleEvery, 1...1_048_576)
        try Self.check("--status-every", statusEvery, 0.1...3600)
        try Self.check("--linger", linger, 0...86_400)
        try Self.check("--max-connections", maxConnections, 1...10_000)
        try Self.check("--max-connections-per-client", maxConnectionsPerClient, 1...10_000)
        try Self.check("--connection-timeout", connectionTimeout, 1...3600)
        try Self.check("--max-scrapes", maxScrapes, 1...1024)
        if listen.isEmpty { throw ValidationError("bad value '' for --listen: want HOST:PORT") }
        try Self.check("--peer-timeout", peerTimeout, 0.001...60)
        try Self.check("--peer-max-body", peerMaxBody, 1024...1 << 30)
        try Self.check("--peer-remember", peerRemember, 0...604_800)
        if let id = nodeID, !MatrixStateFile.isValidNodeID(id) {
            throw ValidationError("bad value '\(id)' for --node-id: want 1…128 letters, digits, '.', '_', '-' or ':'")
        }
        try Self.check("--prometheus-step", prometheusStep, 1...3600)
        if let url = prometheusURL {
            do {
                _ = try PrometheusView(url: url, selector: .everything)
            } catch {
                throw ValidationError("bad value '\(url)' for --prometheus-url: \(error.problem)")
            }
            guard prometheusSelector != nil else {
                throw ValidationError("--prometheus-url needs --prometheus-selector (e.g. '{job=\"keyviz\"}'): a Prometheus may scrape other stores")
            }
        }
        if let text = prometheusSelector {
            guard prometheusURL != nil else { throw ValidationError("--prometheus-selector needs --prometheus-url (it scopes that Prometheus's queries)") }
            do {
                _ = try PrometheusSelector(parsing: text)
            } catch {
                throw ValidationError("bad value '\(text)' for --prometheus-selector: \(error.reason)")
            }
        }
        if !peers.isEmpty {
            do {
                _ = try PeerAddress.parseList(peers)
            } catch {
                throw ValidationError("bad value '\(peers)' for --peers: \(error)")
            }
        }
        for (flag, path) in [("--basic-auth-file", basicAuthFile), ("--tls-cert", tlsCert), ("--tls-key", tlsKey), ("--peer-credentials-file", peerCredentialsFile)] where path == "" {
            throw ValidationError("bad value '' for \(flag): want a path")
        }
    }

    /// `--skew`, or its default (which depends on --auto-split).
    var effectiveSkew: Double { skew ?? (autoSplit ? 4 : 16) }
    var effectiveAutoSplitCooldown: Double { autoSplitCooldown ?? 5 }
    var effectiveAutoSplitMinBalance: Double { autoSplitMinBalance ?? 0.8 }
    /// `--churn-period`, or its default (which depends on --auto-split).
    var effectiveChurnPeriod: Double { churnPeriod ?? (autoSplit ? 0 : 5) }

    /// `--tiers` as the sampler's coarser tiers; refused (not adjusted) when the sampler would
    /// have to change them (`HeatMatrixSamplerConfiguration.tierProblems` owns the rules).
    func coarserTiers() throws -> [HistoryTier] {
        let text = tiers.trimmingCharacters(in: .whitespaces)
        func bad(_ why: String) -> ValidationError { ValidationError("bad value '\(tiers)' for --tiers: \(why)") }
        guard !text.isEmpty else { throw bad("empty: want STEP_SECONDS:COLUMNS,… or none") }
        guard text != "none" else { return [] }
        var out: [HistoryTier] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 2, let seconds = Double(fields[0].trimmingCharacters(in: .whitespaces)),
                  let columns = Int(fields[1].trimmingCharacters(in: .whitespaces)) else {
                throw bad("want STEP_SECONDS:COLUMNS,… or none, got '\(part)'")
            }
            guard seconds.isFinite, seconds >= 0.001, seconds <= 31_622_400 else { throw bad("step \(fields[0]) s is not in 0.001…31622400") }
            guard (1...100_000).contains(columns) else { throw bad("columns \(columns) not in 1…100000") }
            out.append(HistoryTier(stepMilliseconds: Int64((seconds * 1000).rounded()), columns: columns))
        }
        let config = HeatMatrixSamplerConfiguration(stepMilliseconds: Int64((step * 1000).rounded()), historyColumns: historyColumns, coarserTiers: out)
        // The library would make the change it names; the demo asks for the value to be written so.
        if let problem = config.tierProblems.first {
            throw bad("the sampler would change it (with --step \(step)): \(problem); nothing started: write the tiers that way")
        }
        return out
    }

    private static func check(_ flag: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("bad value '\(value)' for \(flag): want an integer in \(range.lowerBound)…\(range.upperBound)")
        }
    }

    private static func check(_ flag: String, _ value: Double, _ range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("bad value '\(value)' for \(flag): want a number in \(range.lowerBound)…\(range.upperBound)")
        }
    }
}
#endif
