/// A pull reader over JSON bytes that reads values straight into checked Swift values: the
/// cluster views' decoder for what peers and Prometheus send.
///
/// Why not `JSONDecoder`: it builds the whole document before a single count can be checked
/// (a 27 MB peer answer peaked at 254 MiB), while this reader lets the caller stop at the first
/// value over a cap, and what it keeps is the values themselves. Strict where the callers rely on
/// it: integers are digits only (no fraction, exponent or overflow), strings are valid UTF-8
/// with their escapes decoded, nesting is bounded, and nothing may follow the document.
package struct JSONReader {
    package struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        package var message: String
        package var offset: Int
        package var description: String { "\(message) at byte \(offset)" }
    }

    /// Nesting skipped values may have (the callers' own documents are 4 deep).
    package static let maxDepth = 32

    private let bytes: [UInt8]
    private(set) var position = 0

    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: structure

    /// `{`: then ``nextMember(_:)`` until it returns nil.
    package mutating func beginObject() throws(Failure) { try expect(UInt8(ascii: "{"), "an object") }

    /// The next member's key (its value is next to read), or nil after the closing `}`.
    /// `first` starts true and is kept by the caller for this object.
    package mutating func nextMember(_ first: inout Bool) throws(Failure) -> String? {
        skipSpace()
        if peek() == UInt8(ascii: "}") { position += 1; return nil }
        if !first { try expect(UInt8(ascii: ","), "',' or '}'") }
        first = false
        skipSpace()
        let key = try string(maxBytes: 256)
        try expect(UInt8(ascii: ":"), "':'")
        return key
    }

    /// `[`: then ``nextElement(_:)`` until it returns false.
    package mutating func beginArray() throws(Failure) { try expect(UInt8(ascii: "["), "an array") }

    /// Whether another element follows (read it next), false after the closing `]`.
    package mutating func nextElement(_ first: inout Bool) throws(Failure) -> Bool {
        skipSpace()
        if peek() == UInt8(ascii: "]") { position += 1; return false }
        if !first { try expect(UInt8(ascii: ","), "',' or ']'") }
        first = false
        return true
    }

    /// Only white space is left.
    package mutating func end() throws(Failure) {
        skipSpace()
        guard position == bytes.count else { throw fail("data after the document") }
    }

    // MARK: values

    /// A string, escapes decoded, at most `maxBytes` bytes of UTF-8.
    package mutating func string(maxBytes: Int) throws(Failure) -> String {
        String(decoding: try stringBytes(maxBytes: maxBytes), as: UTF8.self)
    }

    /// A string's UTF-8 bytes, escapes decoded; the raw bytes must be valid UTF-8.
    package mutating func stringBytes(maxBytes: Int) throws(Failure) -> [UInt8] {
        try expect(UInt8(ascii: "\""), "a string")
        var out: [UInt8] = []
        let start = position
        while true {
            guard position < bytes.count else { throw fail("unterminated string") }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                position += 1
                break
            }
            if b < 0x20 { throw fail("control character in a string") }
            if b == UInt8(ascii: "\\") {
                position += 1
                guard position < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[position]
                position += 1
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
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("unpaired surrogate")
                    }
                    guard let s = Unicode.Scalar(scalar) else { throw fail("bad \\u escape") }
                    out.append(contentsOf: Array(String(Character(s)).utf8))
                default:
                    throw fail("bad escape")
                }
            } else {
                // A run of plain bytes at once.
                var end = position
                while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
                out.append(contentsOf: bytes[position..<end])
                position = end
            }
            if out.count > maxBytes { throw Failure(message: "string longer than \(maxBytes) bytes", offset: start) }
        }
        guard String(validating: out, as: UTF8.self) != nil else { throw Failure(message: "string is not UTF-8", offset: start) }
        return out
    }

    /// A non-negative integer of 64 bits: digits only.
    package mutating func uint64() throws(Failure) -> UInt64 {
        skipSpace()
        let start = position
        var v: UInt64 = 0
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(bytes[position] - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw Failure(message: "integer over 64 bits", offset: start) }
            v = a
            position += 1
        }
        guard position > start else { throw fail("a non-negative integer") }
        guard position - start == 1 || bytes[start] != UInt8(ascii: "0") else { throw Failure(message: "leading zero", offset: start) }
        try integerEnds(start)
        return v
    }

    /// A signed integer of 64 bits.
    package mutating func int64() throws(Failure) -> Int64 {
        skipSpace()
        let start = position
        let negative = peek() == UInt8(ascii: "-")
        if negative { position += 1 }
        let magnitude = try uint64()
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw Failure(message: "integer out of range", offset: start) }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw Failure(message: "integer out of range", offset: start) }
        return Int64(magnitude)
    }

    /// Any JSON number, as a `Double` (finite or not, as the text says).
    package mutating func double() throws(Failure) -> Double {
        skipSpace()
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        func digits() -> Int {
            let from = position
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") { position += 1 }
            return position - from
        }
        guard digits() > 0 else { throw fail("a number") }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw fail("digits after '.'") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw fail("exponent digits") }
        }
        guard position - start <= 400, let d = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else {
            throw Failure(message: "not a number", offset: start)
        }
        return d
    }

    /// `true` or `false`.
    package mutating func bool() throws(Failure) -> Bool {
        skipSpace()
        if literal("true") { return true }
        if literal("false") { return false }
        throw fail("true or false")
    }

    /// Reads `null` when it is next; false (nothing read) otherwise.
    package mutating func null() -> Bool {
        skipSpace()
        return literal("null")
    }

    /// Any value, checked and dropped (for members the caller does not read).
    package mutating func skipValue() throws(Failure) {
        try skipValue(depth: 0)
    }

    private mutating func skipValue(depth: Int) throws(Failure) {
        guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)") }
        skipSpace()
        switch peek() {
        case UInt8(ascii: "{"):
            try beginObject()
            var first = true
            while try nextMember(&first) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try beginArray()
            var first = true
            while try nextElement(&first) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try stringBytes(maxBytes: Int.max)
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            _ = try bool()
        case UInt8(ascii: "n"):
            guard null() else { throw fail("a value") }
        default:
            _ = try double()
        }
    }

    // MARK: bytes

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        skipSpace()
        guard peek() == byte else { throw fail("expected \(what)") }
        position += 1
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard position + n <= bytes.count else { return false }
        let same = word.withUTF8Buffer { w in (0..<n).allSatisfy { bytes[position + $0] == w[$0] } }
        if same { position += n }
        return same
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }

    /// An integer is not followed by a fraction or an exponent (`1.5`, `1e3` are not integers).
    private func integerEnds(_ start: Int) throws(Failure) {
        if let c = peek(), c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: ".") {
            throw Failure(message: "not an integer", offset: start)
        }
    }

    private func fail(_ what: String) -> Failure { Failure(message: what, offset: position) }
}
