import Foundation
import Synchronization
#if canImport(Testing)
import Testing
#endif

/// Runs a command-line tool with bytes on its standard input, for tests that check output with
/// real tools (`promtool`, `gzip`, `openssl`, `curl`, Python parsers).
///
/// A tool that is not installed cancels the calling Swift Testing test, saying which tool and
/// where it comes from, so `swift test` runs on a machine without them; with the environment
/// variable `KEYVIZ_REQUIRE_TOOLS=1` (`scripts/test.sh` sets it) it fails the test instead:
/// there every check must run.
public enum ToolRunner {
    /// A tool a test needs is not installed.
    public struct ToolNotFound: Error, CustomStringConvertible {
        public let tool: String
        public let package: String
        public var description: String { "\(tool) is not installed (Debian: apt-get install \(package))" }
    }

    /// Runs `argv` (looked up on PATH); returns its exit status and its stdout and stderr together.
    /// The caller suspends meanwhile: the tool's input is written and its output read on threads
    /// started for that, and its exit is reported by its termination handler.
    public static func run(_ argv: [String], input: [UInt8] = []) async throws -> (status: Int32, output: [UInt8]) {
        if let tool = argv.first, !tool.contains("/"), !isInstalled(tool) {
            try toolMissing(tool, package: debianPackages[tool] ?? tool)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let stdin = Pipe(), out = Pipe()
        p.standardInput = stdin
        p.standardOutput = out
        p.standardError = out
        let exited = ExitStatus()
        p.terminationHandler = { exited.set($0.terminationStatus) }
        try p.run()
        ignoreBrokenPipes
        let writer = Thread {
            // A tool that exits before reading all its input: EPIPE, not a dead test process.
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output: [UInt8] = await withCheckedContinuation { done in
            let reader = Thread { done.resume(returning: Array(out.fileHandleForReading.readDataToEndOfFile())) }
            reader.start()
        }
        return (await exited.value, output)
    }

    /// A process's exit status, handed from its termination handler to whoever awaits it.
    private final class ExitStatus: Sendable {
        private struct State {
            var status: Int32?
            var waiting: CheckedContinuation<Int32, Never>?
        }
        private let state = Mutex(State())

        func set(_ status: Int32) {
            let waiting = state.withLock { s -> CheckedContinuation<Int32, Never>? in
                s.status = status
                defer { s.waiting = nil }
                return s.waiting
            }
            waiting?.resume(returning: status)
        }

        var value: Int32 {
            get async {
                await withCheckedContinuation { c in
                    let now = state.withLock { s -> Int32? in
                        if let status = s.status { return status }
                        s.waiting = c
                        return nil
                    }
                    if let now { c.resume(returning: now) }
                }
            }
        }
    }

    /// Writing to a tool that has exited raises SIGPIPE, which ends the process: a test process
    /// ignores it instead (once), and the write fails with EPIPE.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Whether `tool` is an executable on PATH.
    public static func isInstalled(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }

    /// Cancels the calling test (or, with `KEYVIZ_REQUIRE_TOOLS=1` or outside Swift Testing,
    /// throws ``ToolNotFound``): `tool`, from Debian's `package`, is not installed.
    public static func toolMissing(_ tool: String, package: String) throws -> Never {
        let error = ToolNotFound(tool: tool, package: package)
        #if canImport(Testing)
        if ProcessInfo.processInfo.environment["KEYVIZ_REQUIRE_TOOLS"] != "1", Test.current != nil {
            try Test.cancel(Comment(rawValue: error.description))
        }
        #endif
        throw error
    }

    private static let debianPackages = ["promtool": "prometheus", "curl": "curl", "gzip": "gzip", "openssl": "openssl",
                                         "python3": "python3"]

    /// `promtool check metrics` on a text-format body: nil when promtool exits 0 and says
    /// nothing, otherwise its exit status and complaints. Needs Debian's `prometheus` package.
    public static func promtoolComplaints(_ body: [UInt8]) async throws -> String? {
        let r = try await run(["promtool", "check", "metrics"], input: body)
        let text = String(decoding: r.output, as: UTF8.self)
        return r.status == 0 && text.allSatisfy(\.isWhitespace) ? nil : "exit \(r.status): \(text)"
    }
}
