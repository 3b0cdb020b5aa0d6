import Foundation
import KeyViz
@testable import KeyVizPrometheus
import Testing

/// Families with every awkward thing the formats must escape or spell canonically.
private func awkwardFamilies() throws -> [MetricFamily] {
    [
        try MetricFamily(name: "zz_awkward_values", help: "A gauge with \"quotes\", a back\\slash\nand a newline.", type: .gauge, samples: [
            MetricSample(labels: [("k", "plain")], value: .double(1.5)),
            MetricSample(labels: [("k", "quote\"back\\slash\nnewline")], value: .double(.nan)),
            MetricSample(labels: [("k", "pos")], value: .double(.infinity)),
            MetricSample(labels: [("k", "neg")], value: .double(-.infinity)),
            MetricSample(labels: [("k", "big")], value: .double(9_007_199_254_740_992)),
            MetricSample(labels: [("k", "utf8 ключ ✓")], value: .double(-0.25)),
            MetricSample(labels: [("k", BucketLabeler.infoPreview([0xff, 0x00, 0x22, 0x5c]))], value: .double(1e-7)),
        ]),
        try MetricFamily(name: "aa_requests_total", help: "Counter help.", type: .counter, samples: [
            MetricSample(labels: [("code", "200"), ("handler", "/metrics")], value: .integer(18_446_744_073_709_551_615)),
            MetricSample(labels: [("code", "503"), ("handler", "/metrics")], value: .integer(0)),
        ]),
        try MetricFamily(name: "mm_duration_seconds", help: "A histogram.", type: .histogram, samples: [
            MetricSample(suffix: "_bucket", labels: [("le", ExpositionWriter.boundLabel(0.005))], value: .integer(1)),
            MetricSample(suffix: "_bucket", labels: [("le", ExpositionWriter.boundLabel(1))], value: .integer(3)),
            MetricSample(suffix: "_bucket", labels: [("le", ExpositionWriter.boundLabel(.infinity))], value: .integer(4)),
            MetricSample(suffix: "_sum", value: .double(2.25)),
            MetricSample(suffix: "_count", value: .integer(4)),
        ]),
    ]
}

@Suite struct ExpositionWriterTests {
    @Test(arguments: [(ExpositionFormat.prometheusText, "awkward.prom"), (.openMetrics, "awkward.om")])
    func outputMatchesTheGoldenFile(format: ExpositionFormat, file: String) throws {
        let body = ExpositionWriter.encode(try awkwardFamilies(), format: format)
        if ProcessInfo.processInfo.environment["KEYVIZ_RECORD_GOLDEN"] == "1" {
            try Data(body).write(to: goldenDirectory.appendingPathComponent(file))   // review the diff before committing
        }
        let golden = try Data(contentsOf: goldenDirectory.appendingPathComponent(file))
        #expect(String(decoding: body, as: UTF8.self) == String(decoding: golden, as: UTF8.self))
    }

    @Test func textOutputIsPromtoolClean() async throws {
        let body = ExpositionWriter.encode(try awkwardFamilies(), format: .prometheusText)
        await #expect(try promtoolComplaints(body) == nil)
    }

    @Test func openMetricsOutputParsesWithAnIndependentParser() async throws {
        let body = ExpositionWriter.encode(try awkwardFamilies(), format: .openMetrics)
        await #expect(try openMetricsParserComplaints(body) == nil)
    }

    @Test func escapedLabelValuesRoundTrip() throws {
        let body = ExpositionWriter.encode(try awkwardFamilies(), format: .prometheusText)
        let values = Set(TestExposition.samples(body).compactMap { $0.labels["k"] })
        #expect(values.contains("quote\"back\\slash\nnewline"))
        #expect(values.contains("utf8 ключ ✓"))
    }

    @Test func aFamilyWithoutHelpGetsNoHelpLineInEitherFormat() async throws {
        let family = try MetricFamily(name: "host_widgets", help: "", type: .gauge, samples: [MetricSample(value: .integer(3))])
        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            let text = String(decoding: ExpositionWriter.encode([family], format: format), as: UTF8.self)
            #expect(!text.contains("# HELP"), "\(format): \(text)")
            #expect(text.contains("# TYPE host_widgets gauge\nhost_widgets 3\n"))
        }
        // promtool parses it; its only remark is the lint it makes with or without an empty HELP line.
        let remarks = try await promtoolComplaints(ExpositionWriter.encode([family], format: .prometheusText)) ?? ""
        #expect(remarks.split(separator: "\n").allSatisfy { $0.hasSuffix("no help text") }, "\(remarks)")
        await #expect(try openMetricsParserComplaints(ExpositionWriter.encode([family], format: .openMetrics)) == nil)
    }

    @Test func valuesAreSpelledCanonically() {
        func spell(_ v: MetricValue) -> String { var o: [UInt8] = []; v.write(to: &o); return String(decoding: o, as: UTF8.self) }
        #expect(spell(.double(.nan)) == "NaN")
        #expect(spell(.double(.infinity)) == "+Inf")
        #expect(spell(.double(-.infinity)) == "-Inf")
        #expect(spell(.double(9_007_199_254_740_992)) == "9007199254740992")
        #expect(spell(.double(3)) == "3")
        #expect(spell(.double(-0.0)) == "0")
        #expect(spell(.integer(18_446_744_073_709_551_615)) == "18446744073709551615")
        #expect(spell(.integer(0)) == "0")
        for v: UInt64 in [9, 10, 99, 100, 4_294_967_296, 10_000_000_000_000_000_000] { #expect(spell(.integer(v)) == String(v)) }
        #expect(spell(.double(0.1)) == "0.1")
    }

    @Test func badNamesAreRefusedWithTheReason() {
        #expect(throws: MetricNameError.invalidMetricName("1abc")) { try MetricFamily(name: "1abc", help: "", type: .gauge, samples: []) }
        #expect(throws: MetricNameError.counterWithoutTotalSuffix("c")) { try MetricFamily(name: "c", help: "", type: .counter, samples: []) }
        #expect(throws: MetricNameError.invalidLabelName("g", "__x")) {
            try MetricFamily(name: "g", help: "", type: .gauge, samples: [MetricSample(labels: [("__x", "v")], value: .integer(1))])
        }
        #expect(throws: MetricNameError.invalidLabelName("g", "a-b")) {
            try MetricFamily(name: "g", help: "", type: .gauge, samples: [MetricSample(labels: [("a-b", "v")], value: .integer(1))])
        }
    }
}
