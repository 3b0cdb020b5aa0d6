/// The framing of a peer's HTTP/1.x answer, decoded from bytes as they arrive: the one place the
/// fetcher's outside bytes become a status and a body.
///
/// Pure (no I/O), so it is fuzzed on its own. Every number in the head is checked before it is
/// used: the status is three digits, `Content-Length` is digits only and at most the body cap
/// (a negative, signed, huge or repeated-and-different length is an error, not a count), and
/// the body never grows past the cap, so memory is at most the head cap plus the body cap.
package struct PeerResponseReader {
    /// What the reader wants next.
    package enum Step: Equatable {
        /// More bytes (or the end of the stream, given to ``finish()``).
        case needMore
        /// The whole answer arrived (a `Content-Length` body is complete).
        case done(PeerResponse)
        case failed(PeerFetchError)
    }

    package let maxHeadBytes: Int
    package let maxBodyBytes: Int
    private var head: [UInt8] = []
    private var body: [UInt8] = []
    private var status: Int?
    private var contentLength: Int?
    private var outcome: Step = .needMore

    package init(maxHeadBytes: Int = 64 * 1024, maxBodyBytes: Int) {
        self.maxHeadBytes = max(16, maxHeadBytes)
        self.maxBodyBytes = min(1 << 40, max(0, maxBodyBytes))
    }

    /// Feeds the next bytes received; the step after them.
    package mutating func append(_ bytes: some Collection<UInt8>) -> Step {
        guard outcome == .needMore else { return outcome }
        var rest = bytes[...]
        if status == nil {
            // Look for the blank line only where it can end: the new bytes and the three before.
            let from = max(0, head.count - 3)
            let room = maxHeadBytes - head.count
            let taken = rest.prefix(room)
            head.append(contentsOf: taken)
            rest = rest.dropFirst(taken.count)
            guard let end = Self.blankLine(in: head, from: from) else {
                if head.count >= maxHeadBytes { return fail("headers over \(maxHeadBytes) bytes") }
                return .needMore
            }
            // What followed the blank line belongs to the body.
            let spill = head[(end + 4)...]
            body.append(contentsOf: spill.prefix(maxBodyBytes + 1))
            head.removeSubrange((end + 4)...)
            if let e = parseHead(head[..<end]) { return fail(e) }
        }
        body.append(contentsOf: rest.prefix(max(0, maxBodyBytes + 1 - body.count)))
        return checkBody(ended: false)
    }

    /// The stream ended (the peer closed): the answer, or why there is none.
    package mutating func finish() -> Step {
        guard outcome == .needMore else { return outcome }
        guard status != nil else { return fail("the connection closed before the headers ended") }
        return checkBody(ended: true)
    }

    private mutating func checkBody(ended: Bool) -> Step {
        guard let status else { return .needMore }
        if let c = contentLength {
            // The length is within the cap (parseHead), and bytes past it are not the body: they
            // must not count against the cap, or the answer would depend on how the bytes were
            // split into reads (fuzzed: Fuzz/Regressions/peer-framing).
            if body.count >= c {
                outcome = .done(PeerResponse(status: status, body: Array(body.prefix(c))))
                return outcome
            }
            if ended { return fail("the connection closed after \(body.count) of \(c) body bytes") }
            return .needMore
        }
        if body.count > maxBodyBytes { return fail("body over the cap of \(maxBodyBytes) bytes") }
        guard ended else { return .needMore }
        outcome = .done(PeerResponse(status: status, body: body))
        return outcome
    }

    private mutating func fail(_ message: String) -> Step {
        outcome = .failed(PeerFetchError(message))
        body = []
        return outcome
    }

    /// Reads the status line and the framing headers; the error, or nil when usable.
    private mutating func parseHead(_ bytes: ArraySlice<UInt8>) -> String? {
        let lines = bytes.split(separator: 10, omittingEmptySubsequences: false).map { $0.last == 13 ? $0.dropLast() : $0 }
        guard let first = lines.first else { return "not an HTTP answer (is the peer plain HTTP?)" }
        // "HTTP/1.x NNN reason"
        let parts = first.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].starts(with: "HTTP/1.".utf8), parts[0].count == 8,
              let code = Self.decimal(parts[1], maxDigits: 3), parts[1].count == 3, code >= 100 else {
            return "not an HTTP answer (is the peer plain HTTP?)"
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = Self.trimmed(line[(colon + 1)...])
            let text = String(decoding: value.prefix(64), as: UTF8.self)
            switch name {
            case "content-length":
                guard let n = Self.decimal(value, maxDigits: 18) else { return "Content-Length '\(text)' is not a length" }
                guard n <= maxBodyBytes else { return "body of \(n) bytes is over the cap of \(maxBodyBytes)" }
                if let c = contentLength, c != n { return "two different Content-Length headers (\(c) and \(n))" }
                contentLength = n
            case "transfer-encoding" where text.lowercased() != "identity":
                return "transfer-encoding \(text) not supported"
            case "content-encoding" where text.lowercased() != "identity":
                return "content-encoding \(text) not supported"
            default:
                continue
            }
        }
        status = code
        return nil
    }

    /// Plain ASCII digits only (no sign, no space), at most `maxDigits` of them.
    private static func decimal(_ bytes: some Collection<UInt8>, maxDigits: Int) -> Int? {
        guard !bytes.isEmpty, bytes.count <= maxDigits else { return nil }
        var v = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(b - UInt8(ascii: "0"))
        }
        return v
    }

    private static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = s
        while let f = s.first, f == 32 || f == 9 { s.removeFirst() }
        while let l = s.last, l == 32 || l == 9 { s.removeLast() }
        return s
    }

    private static func blankLine(in bytes: [UInt8], from: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = from
        while i + 3 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }
}
