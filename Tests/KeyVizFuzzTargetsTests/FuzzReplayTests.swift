import Foundation
import KeyVizFuzzTargets
import Testing

/// `Fuzz/` of this package: `Corpus/<target>/` (seeds, and what a fuzz run added that was worth
/// keeping) and `Regressions/<target>/` (inputs that once broke an invariant).
private let fuzzRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fuzz")

private func files(_ relative: String) -> [URL] {
    let dir = fuzzRoot.appendingPathComponent(relative)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
}

private func subdirectories(_ relative: String) -> [String] {
    let dir = fuzzRoot.appendingPathComponent(relative)
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { name in
        var isDirectory: ObjCBool = false
        return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }
}

/// Every committed corpus and regression input, replayed through its target in plain
/// `swift test`: a regression stays fixed without a fuzzing toolchain.
@Suite struct FuzzReplayTests {
    @Test(arguments: FuzzTargets.all.map(\.name))
    func everyCommittedInputKeepsItsTargetsInvariants(target: String) async throws {
        let t = try #require(FuzzTargets.named(target))
        let corpus = files("Corpus/\(target)")
        #expect(!corpus.isEmpty, "Fuzz/Corpus/\(target) has no seeds")
        for url in corpus + files("Regressions/\(target)") {
            let outcome = await t.evaluate(Array(try Data(contentsOf: url)))
            #expect(outcome.failures.isEmpty, "\(url.path): \(outcome.failures.joined(separator: "; "))")
        }
    }

    @Test func everyDirectoryUnderFuzzNamesATarget() async {
        let names = Set(FuzzTargets.all.map(\.name))
        for kind in ["Corpus", "Regressions"] {
            for dir in subdirectories(kind) { #expect(names.contains(dir), "Fuzz/\(kind)/\(dir) names no target") }
        }
        #expect(Set(FuzzTargets.all.map(\.name)) == names)
    }
}

/// The checks themselves find what they are for (a check that cannot fail fuzzes nothing).
@Suite struct AnswerCheckTests {
    static let good = #"{"series":"writes","generated_at":"2024-01-02T03:04:05.006Z","step_ms":1000,"column_unix_ms":[1000,2000],"unrouted":[0,1],"rows":[{"row_id":"route:1","start":"","end":"a2V5","start_preview":"(begin)","end_preview":"key","aggregate":false,"route_ids":[1],"route_ids_truncated":false,"route_count":1,"values":[1,18446744073709551615]}],"events":[],"events_dropped":0}"#

    func failures(_ body: String, _ rules: MatrixRules = MatrixRules(maxRows: 10, maxColumns: 10)) -> [String] {
        var o = FuzzOutcome()
        AnswerChecks.matrix(Array(body.utf8), rules: rules, "test", &o)
        return o.failures
    }

    @Test func aWellFormedMatrixPasses() async {
        #expect(failures(Self.good) == [])
    }

    @Test func brokenMatricesAreCaught() async {
        #expect(!failures(Self.good.replacingOccurrences(of: #""values":[1,18446744073709551615]"#, with: #""values":[1]"#)).isEmpty)
        #expect(!failures(Self.good.replacingOccurrences(of: "18446744073709551615", with: "18446744073709551616")).isEmpty)
        #expect(!failures(Self.good, MatrixRules(maxRows: 0, maxColumns: 10)).isEmpty)
        #expect(!failures(Self.good, MatrixRules(maxRows: 10, maxColumns: 1)).isEmpty)
        #expect(!failures(Self.good.replacingOccurrences(of: #""route_count":1"#, with: #""route_count":0"#)).isEmpty)
        #expect(!failures(Self.good.replacingOccurrences(of: #""end":"a2V5""#, with: #""end":"a2V5!""#)).isEmpty)
        #expect(!failures(Self.good.replacingOccurrences(of: #""series":"writes""#, with: #""series":"writes","series":"reads""#)).isEmpty)
        #expect(!failures(Self.good + " x").isEmpty)
        #expect(!failures(Self.good, MatrixRules(maxRows: 10, maxColumns: 10, scope: "cluster")).isEmpty)
    }

    @Test func stateFileHeadersCarryTheRightChecksum() async {
        // The re-headed form of a payload is what MatrixHistoryCodec.encode writes around it.
        // No routes, one tier of step 1 with no columns and no pending column (and, in format
        // version 2, no events).
        let v1: [UInt8] = [0, 1, 2, 0, 0]
        for file in [StateFileTarget.headed(v1, version: 1), StateFileTarget.headed(v1 + [0])] {
            #expect(file.count >= 24 + v1.count)
            let outcome = await FuzzTargets.named("state-file")!.evaluate(file)
            #expect(outcome.failures == [])
            #expect(outcome.answers.count > 2, "the file was refused: no matrix answers")
        }
    }
}
