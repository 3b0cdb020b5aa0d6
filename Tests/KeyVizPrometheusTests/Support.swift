import Foundation
import KeyViz
@testable import KeyVizPrometheus
import Synchronization

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let ms = Atomic<Int64>(1_700_000_000_000)
    var now: Int64 { ms.load(ordering: .relaxed) }
    func advance(_ d: Int64) { ms.wrappingAdd(d, ordering: .relaxed) }
    var function: @Sendable () -> Int64 { { [self] in self.now } }
}

/// One sample line of a rendered exposition.
struct ParsedSample: Hashable {
    var name: String
    var labels: [String: String]
    var rawLabels: String
    var value: String
    var key: String { name + rawLabels }
    var number: Double { Double(value) ?? (value == "+Inf" ? .infinity : value == "-Inf" ? -.infinity : .nan) }
}

/// A small parser for the tests' own checks (promtool and prometheus_client check the format
/// independently). Handles escaped quotes in label values.
enum TestExposition {
    static func samples(_ body: [UInt8]) -> [ParsedSample] {
        samples(String(decoding: body, as: UTF8.self))
    }

    static func samples(_ text: String) -> [ParsedSample] {
        var out: [ParsedSample] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            let chars = Array(line)
            var i = 0
            while i < chars.count && chars[i] != "{" && chars[i] != " " { i += 1 }
            let name = String(chars[0..<i])
            var labels: [String: String] = [:]
            var raw = ""
            if i < chars.count && chars[i] == "{" {
                let open = i
                i += 1
                while i < chars.count && chars[i] != "}" {
                    var n = ""
                    while chars[i] != "=" { n.append(chars[i]); i += 1 }
                    i += 2   // ="
                    var v = ""
                    while chars[i] != "\"" {
                        if chars[i] == "\\" {
                            i += 1
                            v.append(chars[i] == "n" ? "\n" : chars[i])
                        } else {
                            v.append(chars[i])
                        }
                        i += 1
                    }
                    i += 1
                    if i < chars.count && chars[i] == "," { i += 1 }
                    labels[n] = v
                }
                raw = String(chars[open...i])
                i += 1
            }
            let value = String(chars[(i + 1)...]).split(separator: " ").first.map(String.init) ?? ""
            out.append(ParsedSample(name: name, labels: labels, rawLabels: raw, value: value))
        }
        return out
    }
}

/// Runs a command with `input` on stdin; returns exit status and combined output.
func runTool(_ argv: [String], input: [UInt8]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    let stdin = Pipe(), stdout = Pipe()
    p.standardInput = stdin
    p.standardOutput = stdout
    p.standardError = stdout
    try p.run()
    let writer = Thread {
        stdin.fileHandleForWriting.write(Data(input))
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `promtool check metrics`: exit 0 and no complaint.
func promtoolComplaints(_ body: [UInt8]) throws -> String? {
    let r = try runTool(["promtool", "check", "metrics"], input: body)
    return r.status == 0 && r.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : "exit \(r.status): \(r.output)"
}

/// Parses OpenMetrics text with the Python prometheus_client parser; nil when it is happy.
func openMetricsParserComplaints(_ body: [UInt8]) throws -> String? {
    let script = """
    import sys
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    n = 0
    for f in text_string_to_metric_families(sys.stdin.read()):
        n += len(f.samples)
    print(n)
    """
    let r = try runTool(["python3", "-c", script], input: body)
    return r.status == 0 ? nil : "exit \(r.status): \(r.output)"
}

let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
