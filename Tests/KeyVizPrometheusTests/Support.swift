import Foundation
import KeyViz
@testable import KeyVizPrometheus
import KeyVizTestKit

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

/// `promtool check metrics`: nil when it is happy.
func promtoolComplaints(_ body: [UInt8]) async throws -> String? {
    try await ToolRunner.promtoolComplaints(body)
}

/// Parses OpenMetrics text with the Python prometheus_client parser; nil when it is happy.
func openMetricsParserComplaints(_ body: [UInt8]) async throws -> String? {
    let script = """
    import sys
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    n = 0
    for f in text_string_to_metric_families(sys.stdin.read()):
        n += len(f.samples)
    print(n)
    """
    let r = try await ToolRunner.run(["python3", "-c", script], input: body)
    let text = String(decoding: r.output, as: UTF8.self)
    if r.status != 0 && text.contains("No module named 'prometheus_client'") {
        try ToolRunner.toolMissing("prometheus_client (Python)", package: "python3-prometheus-client")
    }
    return r.status == 0 ? nil : "exit \(r.status): \(text)"
}

let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
