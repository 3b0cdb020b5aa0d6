/// A small strict JSON parser for checking the answers the targets produce: numbers stay text
/// (so a count of 2^64 - 1 is checked exactly, not as a `Double`), strings must be UTF-8, a
/// member name may appear once per object, and nothing may follow the document. Independent of
/// the project's own readers on purpose: it checks them.
package indirect enum JSONValue: Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    package subscript(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    package var members: [(key: String, value: JSONValue)]? {
        if case .object(let m) = self { return m }
        return nil
    }

    package var elements: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    package var text: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    package var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    package var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// An integer that is not negative and fits 64 bits (digits only, as the API writes them).
    package var uint64: UInt64? {
        guard case .number(let t) = self else { return nil }
        return UInt64(t)
    }

    /// A signed integer of 64 bits.
    package var int64: Int64? {
        guard case .number(let t) = self else { return nil }
        return Int64(t)
    }
}

package enum StrictJSON {
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var message: String
        package var offset: Int
        package var description: String { "\(message) at byte \(offset)" }
    }

    package static func parse(_ bytes: [UInt8], maxDepth: Int = 64) -> Result<JSONValue, Failure> {
        var p = Parser(bytes: bytes, maxDepth: maxDepth)
        do throws(Failure) {
            let v = try p.value(depth: 0)
            p.space()
            guard p.i == bytes.count else { throw p.failure("data after the document") }
            return .success(v)
        } catch {
            return .failure(error)
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var i = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func failure(_ m: String) -> Failure { Failure(message: m, offset: i) }

        mutating func space() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func value(depth: Int) throws(Failure) -> JSONValue {
            guard depth <= maxDepth else { throw failure("nested deeper than \(maxDepth)") }
            space()
            guard i < bytes.count else { throw failure("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(key: String, value: JSONValue)] = []
                var seen = Set<String>()
                space()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    space()
                    let key = try string()
                    guard seen.insert(key).inserted else { throw failure("member \"\(key)\" twice in one object") }
                    space()
                    try expect(UInt8(ascii: ":"))
                    members.append((key, try value(depth: depth + 1)))
                    space()
                    guard i < bytes.count else { throw failure("unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    try expect(UInt8(ascii: "}"))
                    return .object(members)
                }
            case UInt8(ascii: "["):
                i += 1
                var elements: [JSONValue] = []
                space()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    space()
                    guard i < bytes.count else { throw failure("unterminated array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    try expect(UInt8(ascii: "]"))
                    return .array(elements)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try word("true"); return .bool(true)
            case UInt8(ascii: "f"):
                try word("false"); return .bool(false)
            case UInt8(ascii: "n"):
                try word("null"); return .null
            default:
                return .number(try number())
            }
        }

        mutating func expect(_ b: UInt8) throws(Failure) {
            guard i < bytes.count, bytes[i] == b else { throw failure("expected '\(Character(Unicode.Scalar(b)))'") }
            i += 1
        }

        mutating func word(_ w: String) throws(Failure) {
            for b in w.utf8 { try expect(b) }
        }

        mutating func number() throws(Failure) -> String {
            let start = i
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            func digits(_ p: inout Parser) -> Int {
                let from = p.i
                while p.i < p.bytes.count, p.bytes[p.i] >= UInt8(ascii: "0"), p.bytes[p.i] <= UInt8(ascii: "9") { p.i += 1 }
                return p.i - from
            }
            let intStart = i
            let n = digits(&self)
            guard n > 0 else { throw failure("a value") }
            guard n == 1 || bytes[intStart] != UInt8(ascii: "0") else { throw failure("leading zero") }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits(&self) > 0 else { throw failure("digits after '.'") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits(&self) > 0 else { throw failure("exponent digits") }
            }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard i + 4 <= bytes.count else { throw failure("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw failure("bad \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws(Failure) -> String {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw failure("unterminated string") }
                let b = bytes[i]
                i += 1
                switch b {
                case UInt8(ascii: "\""):
                    guard let s = String(validating: out, as: UTF8.self) else { throw failure("string is not UTF-8") }
                    return s
                case 0..<0x20:
                    throw failure("control character in a string")
                case UInt8(ascii: "\\"):
                    guard i < bytes.count else { throw failure("unterminated escape") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            try expect(UInt8(ascii: "\\"))
                            try expect(UInt8(ascii: "u"))
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let s = Unicode.Scalar(scalar) else { throw failure("bad \\u escape") }
                        out.append(contentsOf: Array(String(Character(s)).utf8))
                    default:
                        throw failure("bad escape")
                    }
                default:
                    out.append(b)
                }
            }
        }
    }
}
