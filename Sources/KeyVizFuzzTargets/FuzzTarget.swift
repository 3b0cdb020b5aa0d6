/// One fuzz target: a trust boundary driven by arbitrary bytes, with the invariants its output
/// must keep whatever the bytes.
///
/// ``evaluate`` runs one input and returns what it saw: the JSON answers it produced (for
/// `keyviz-fuzz --emit`, validated against docs/openapi.yaml by `scripts/fuzz.sh`) and every
/// invariant that broke. It is async because the boundaries it drives are (the handler, the
/// cluster views); the fuzz driver runs it to its end on its own thread. ``run(_:)`` is what
/// libFuzzer's entry calls: it evaluates and traps on the first broken invariant, so the fuzzer
/// saves the input as a crash. A trap inside library code (an overflow, an index out of range)
/// is a crash either way.
package struct FuzzTarget: Sendable {
    package let name: String
    /// One line: the boundary and what is checked.
    package let summary: String
    package let evaluate: @Sendable ([UInt8]) async -> FuzzOutcome

    package init(name: String, summary: String, evaluate: @escaping @Sendable ([UInt8]) async -> FuzzOutcome) {
        self.name = name
        self.summary = summary
        self.evaluate = evaluate
    }

    /// Evaluates `input` and stops the process on the first broken invariant.
    package func run(_ input: [UInt8]) async {
        let outcome = await evaluate(input)
        if let first = outcome.failures.first {
            fatalError("\(name): \(first)" + (outcome.failures.count > 1 ? " (and \(outcome.failures.count - 1) more)" : ""))
        }
    }
}

/// What one input produced: the answers (for `--emit`) and the broken invariants (none, when
/// the boundary held).
package struct FuzzOutcome: Sendable {
    /// One JSON answer of the KeyViz API, with the schema of docs/openapi.yaml it must match.
    package struct Answer: Sendable {
        /// `Matrix`, `Error` or `HotKeys`: the schema's name in docs/openapi.yaml.
        package var schema: String
        /// Which request of the input it answers (for people).
        package var label: String
        package var status: Int
        package var body: [UInt8]
    }

    package var answers: [Answer] = []
    package var failures: [String] = []

    package init() {}

    /// Records `message` as a broken invariant unless `condition` holds.
    package mutating func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { failures.append(message()) }
    }

    package mutating func fail(_ message: String) {
        failures.append(message)
    }
}

/// The six targets by name: the libFuzzer entry dispatches on `KEYVIZ_FUZZ_TARGET`, the replayer
/// and the replay tests on the directory names under `Fuzz/Corpus` and `Fuzz/Regressions`.
package enum FuzzTargets {
    package static let all: [FuzzTarget] = [
        FuzzTarget(name: "peer-framing",
                   summary: "bytes as a peer's HTTP answer, in chunks sized by the input, through PeerResponseReader: a body never over its cap, the same outcome whatever the chunking",
                   evaluate: PeerFramingTarget.evaluate),
        FuzzTarget(name: "peer-answer",
                   summary: "bytes as a peer's 200 matrix body through ClusterView (NodeMatrix.decode, ClusterMatrixMerger.merge, MatrixJSON.encode): a well-formed matrix within the row and column caps, exact totals",
                   evaluate: PeerAnswerTarget.evaluate),
        FuzzTarget(name: "prometheus-answer",
                   summary: "bytes as Prometheus's query_range and query bodies through PrometheusView behind the handler: a well-formed matrix within the row budget and PrometheusView.maxColumns",
                   evaluate: PrometheusAnswerTarget.evaluate),
        FuzzTarget(name: "state-file",
                   summary: "bytes as a state file (as is, and re-headed with a correct CRC) through MatrixHistoryCodec and HeatMatrixSampler.restore, then matrix API requests: streaming and decoded restores agree, answers well-formed",
                   evaluate: StateFileTarget.evaluate),
        FuzzTarget(name: "query",
                   summary: "bytes as a query string (and headers) for the matrix API in every scope, the hot-keys API and /metrics: status 200, 400 or 503, JSON answers well-formed",
                   evaluate: QueryTarget.evaluate),
        FuzzTarget(name: "authorization",
                   summary: "bytes as an Authorization header value through BasicAuthUsers: never a crash, allowed only for the right credentials, the same answer twice",
                   evaluate: AuthorizationTarget.evaluate),
    ]

    package static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}
