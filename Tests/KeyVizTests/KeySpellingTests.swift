import KeyViz
import Testing

/// One spelling of keys for the matrix JSON, the hot keys, the exporter's labels and the
/// Prometheus view: what is written reads back as the key, or as a head every such key starts with.
@Suite struct KeySpellingTests {
    private static func randomKey(_ rng: inout SplitMix64) -> [UInt8] {
        let length: Int = switch rng.next() % 6 {
        case 0: 0
        case 1: Int(rng.next() % 8)
        case 2: Int(rng.next() % 40)
        case 3: 60 + Int(rng.next() % 200)
        case 4: 5_000 + Int(rng.next() % 5_000)
        default: Int(rng.next() % 70)
        }
        let alphabet: [UInt8] = rng.next() % 2 == 0 ? Array("abcxyz019-_/:~(0x ".utf8) : Array(0...255)
        var key = (0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        if rng.next() % 8 == 0, !key.isEmpty { key.insert(contentsOf: Array("0x".utf8), at: 0) }
        if rng.next() % 8 == 0 { key.insert(UInt8(ascii: "("), at: 0) }
        return key
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func aSpellingReadsBackAsItsKeyOrAHeadOfIt(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var exactSpellings: [String: [UInt8]] = [:]
        for _ in 0..<3_000 {
            let key = Self.randomKey(&rng)
            for maxLength in [16, 32, 64] {
                let spelled = KeyPreview.render(key, maxLength: maxLength)
                #expect(spelled.count <= maxLength, "seed \(seed): \(spelled)")
                let read = KeyPreview.read(spelled)
                if read.exact {
                    #expect(read.bytes == key, "seed \(seed): \(spelled) read as \(read.bytes), wrote \(key)")
                    // Untruncated spellings name one key each.
                    if let other = exactSpellings[spelled] { #expect(other == key, "seed \(seed): \(spelled) names two keys") }
                    exactSpellings[spelled] = key
                } else {
                    #expect(key.starts(with: read.bytes) && !read.bytes.isEmpty, "seed \(seed): \(spelled) is no head of \(key.prefix(40))")
                    #expect(spelled.hasSuffix("~" + String(KeyPreview.hex64Public(KeyPreview.hash(key)).prefix(8))))
                }
            }
        }
    }

    @Test func theKeySpaceBoundsAndOddTextRead() {
        #expect(KeyPreview.render([UInt8]()) == "(begin)" && KeyPreview.renderEnd([UInt8]()) == "(end)")
        #expect(KeyPreview.read("(begin)") == ([], true) && KeyPreview.read("(end)") == ([], true))
        #expect(KeyPreview.read("0x00ff") == ([0, 255], true))
        #expect(KeyPreview.read("0xzz").bytes == Array("0xzz".utf8))
        #expect(KeyPreview.render(Array("a~b".utf8)) == "0x617e62")      // '~' marks truncation only
        #expect(KeyPreview.render(Array("(x".utf8)) == "0x2878")
    }
}

private extension KeyPreview {
    static func hex64Public(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
