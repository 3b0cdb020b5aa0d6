import Foundation
import KeyViz
import KeyVizCluster
import Testing

/// The cluster views' JSON reader: strict where the callers rely on it, and the same values
/// Foundation reads for what both accept.
@Suite struct JSONReaderTests {
    private func read<T>(_ text: String, _ body: (inout JSONReader) throws -> T) throws -> T {
        var r = JSONReader(Array(text.utf8))
        let v = try body(&r)
        try r.end()
        return v
    }

    @Test func integersAreDigitsOnlyWithinSixtyFourBits() throws {
        #expect(try read("18446744073709551615") { try $0.uint64() } == .max)
        #expect(try read(" -9223372036854775808 ") { try $0.int64() } == .min)
        #expect(try read("9223372036854775807") { try $0.int64() } == .max)
        for bad in ["18446744073709551616", "-1", "1.5", "1e3", "01", "+1", "", "-", "0x10"] {
            #expect(throws: JSONReader.Failure.self, "\(bad)") { try read(bad) { try $0.uint64() } }
        }
        for bad in ["9223372036854775808", "-9223372036854775809", "1E2"] {
            #expect(throws: JSONReader.Failure.self, "\(bad)") { try read(bad) { try $0.int64() } }
        }
    }

    @Test func stringsDecodeEscapesAndRefuseWhatIsNotText() throws {
        #expect(try read(#""a\"b\\c\/\n\u00e9\ud83d\ude00""#) { try $0.string(maxBytes: 100) } == "a\"b\\c/\né😀")
        for bad in [#""\ud83d""#, #""\ude00""#, #""\x""#, "\"a\u{01}\"", #""abc"#, #""\u12""#] {
            #expect(throws: JSONReader.Failure.self, "\(bad)") { try read(bad) { try $0.string(maxBytes: 100) } }
        }
        #expect(throws: JSONReader.Failure.self) { try read(#""abcdef""#) { try $0.string(maxBytes: 5) } }
        var invalid = JSONReader([0x22, 0xff, 0xfe, 0x22])
        #expect(throws: JSONReader.Failure.self) { try invalid.string(maxBytes: 10) }
    }

    @Test func skippedValuesAreCheckedAndNestingIsBounded() throws {
        try read(#"{"a":[1,2.5e-3,{"b":null,"c":true,"d":"x"}],"e":false}"#) { try $0.skipValue() }
        for bad in ["[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "nul", "[", "{\"a\":1}x", "-", "1.", "1e"] {
            #expect(throws: JSONReader.Failure.self, "\(bad)") { try read(bad) { try $0.skipValue() } }
        }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONReader.Failure.self) { try read(deep) { try $0.skipValue() } }
    }

    /// Random documents of numbers and strings: the reader's values are Foundation's.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomDocumentsReadAsFoundationReadsThem(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<300 {
            let numbers = (0..<Int(rng.next() % 20)).map { _ in rng.next() >> (rng.next() % 64) }
            let strings = (0..<Int(rng.next() % 5)).map { _ in String((0..<Int(rng.next() % 12)).map { _ in Character(Unicode.Scalar(UInt8(32 + rng.next() % 95))) }) }
            let doc: [String: Any] = ["n": numbers, "s": strings]
            let bytes = Array(try JSONSerialization.data(withJSONObject: doc))
            var r = JSONReader(bytes)
            var gotNumbers: [UInt64] = [], gotStrings: [String] = []
            var first = true
            try r.beginObject()
            while let key = try r.nextMember(&first) {
                var f = true
                try r.beginArray()
                while try r.nextElement(&f) {
                    if key == "n" { gotNumbers.append(try r.uint64()) } else { gotStrings.append(try r.string(maxBytes: 100)) }
                }
            }
            try r.end()
            #expect(gotNumbers == numbers, "seed \(seed)")
            #expect(gotStrings == strings, "seed \(seed)")
        }
    }
}
