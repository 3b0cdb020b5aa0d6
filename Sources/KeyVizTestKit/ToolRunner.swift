import Foundation

/// Runs a command-line tool with bytes on its standard input, for tests that check output with
/// real tools (`promtool`, `gzip`, `openssl`, `curl`, Python parsers).
public enum ToolRunner {
    /// Runs `argv` (looked up on PATH); returns its exit status and its stdout and stderr together.
    public static func run(_ argv: [String], input: [UInt8] = []) throws -> (status: Int32, output: [UInt8]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let stdin = Pipe(), out = Pipe()
        p.standardInput = stdin
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, Array(data))
    }

    /// `promtool check metrics` on a text-format body: nil when promtool exits 0 and says
    /// nothing, otherwise its exit status and complaints. Needs Debian's `prometheus` package.
    public static func promtoolComplaints(_ body: [UInt8]) throws -> String? {
        let r = try run(["promtool", "check", "metrics"], input: body)
        let text = String(decoding: r.output, as: UTF8.self)
        return r.status == 0 && text.allSatisfy(\.isWhitespace) ? nil : "exit \(r.status): \(text)"
    }
}
