import Foundation
import KeyViz
@testable import KeyVizHTTP
import KeyVizTestKit
import Testing

/// The request-size limits of docs/operations.md (default 32 KiB of connection memory), at
/// their exact boundaries, and every size past them answered rather than dropped.
@Suite(.serialized) struct RequestSizeTests {
    /// One request on a fresh connection: its status, body and (for a refusal) whether the
    /// server then closed the connection; nil when the connection ended with no answer.
    private func exchange(_ port: UInt16, _ request: [UInt8]) throws -> (status: Int, text: String, closed: Bool)? {
        let c = try TestConnection(port: port, timeoutSeconds: 10)
        c.send(request)
        guard let r = try? c.readResponse() else { return nil }
        return (r.status, r.text, r.status != 200 && c.waitForClose())
    }

    private func target(_ length: Int) -> String {
        "/healthz?x=" + String(repeating: "a", count: length - 11)
    }

    private func get(_ target: String) -> [UInt8] {
        Array("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    }

    /// A request whose head costs exactly `cost` bytes as the server counts it: its bytes plus
    /// 64 for each of its two header fields.
    private func head(costing cost: Int) -> [UInt8] {
        let prefix = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ", suffix = "\r\n\r\n"
        return Array((prefix + String(repeating: "a", count: cost - 2 * 64 - prefix.utf8.count - suffix.utf8.count) + suffix).utf8)
    }

    @Test func theDocumentedLimitsAreTheDefaults() {
        let config = MetricsServerConfiguration()
        #expect(config.requestTargetLimit == 8192)
        #expect(config.queryParameterLimit == 64)
        #expect(config.requestHeadLimit == 16384)
        #expect(config.connectionLimitPerClient == 16)
        #expect(config.headerTimeout == .seconds(5))
    }

    @Test func aTargetOf8192BytesIsServedAndOneByteMoreGetsKeyVizs414() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        #expect(try exchange(live.port, get(target(8192)))?.status == 200)
        let over = try exchange(live.port, get(target(8193)))
        #expect(over?.status == 414)
        #expect(over?.text == "request target longer than 8192 bytes\n")
        #expect(over?.closed == true)
    }

    @Test func sixtyFourQueryParametersAreServedAndMoreGet414EvenFiveHundredInTwoKilobytes() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        func parameters(_ n: Int) -> String { "/healthz?" + Array(repeating: "p=1", count: n).joined(separator: "&") }
        #expect(try exchange(live.port, get(parameters(64)))?.status == 200)
        #expect(try exchange(live.port, get(parameters(65)))?.status == 414)
        // 500 parameters in a 2 KB target used to exhaust libmicrohttpd's memory for the
        // connection and drop it with no answer.
        let many = "/healthz?" + Array(repeating: "p", count: 500).joined(separator: "&") + String(repeating: "q", count: 1039)
        #expect(many.utf8.count == 2047)
        let r = try exchange(live.port, get(many))
        #expect(r?.status == 414)
        #expect(r?.text == "more than 64 query parameters\n")
        #expect(r?.closed == true)
        // The matrix API reads its parameters as before.
        #expect(try fetch(live.port, "GET", "/api/v1/keyviz/matrix?series=reads&rows=3").status == 200)
    }

    @Test func aHeadCosting16384BytesIsServedAndOneByteMoreGetsKeyVizs431() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        #expect(try exchange(live.port, head(costing: 16384))?.status == 200)
        let over = try exchange(live.port, head(costing: 16385))
        #expect(over?.status == 431)
        #expect(over?.text.hasPrefix("request headers too large: 16385 bytes as counted, limit 16384") == true)
        #expect(over?.closed == true)
        // Each header field counts 64 bytes more: 300 one-letter headers cost 300 × 68 bytes.
        let fields = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + String(repeating: "a:\r\n", count: 300) + "\r\n"
        #expect(try exchange(live.port, Array(fields.utf8))?.status == 431)
    }

    @Test func everyTargetAndHeadPastTheLimitsIsAnsweredNeverDropped() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        // libmicrohttpd's memory for a connection is 32 KiB: the sizes around it are where it
        // used to close connections unanswered, so they are tried byte by byte (in steps of 3).
        let sizes = Array(stride(from: 8000, through: 40_000, by: 97)) + Array(stride(from: 31_800, through: 33_100, by: 3))
        var unanswered: [String] = []
        var statuses: [Int: Int] = [:]
        for size in sizes {
            for (kind, request, limit, refusal) in [("target", get(target(size)), 8192, 414), ("head", head(costing: size), 16384, 431)] {
                guard let r = try exchange(live.port, request) else { unanswered.append("\(kind) \(size)"); continue }
                statuses[r.status, default: 0] += 1
                // Within the limit: served. Past it: refused, by KeyViz or (when the request does
                // not fit the connection's memory at all) by libmicrohttpd with its 414 or 431.
                if size <= limit {
                    #expect(r.status == 200, "\(kind) \(size)")
                } else {
                    #expect(r.status == refusal || r.status == 431, "\(kind) \(size): \(r.status)")
                }
            }
        }
        print("\(sizes.count * 2) oversized requests: statuses \(statuses.sorted { $0.key < $1.key }), \(unanswered.count) unanswered")
        #expect(unanswered.isEmpty, "\(unanswered.prefix(20))")
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
    }

    @Test func headsNearTheConnectionMemoryAreAnsweredByKeyVizAndLargerOnesByLibmicrohttpd() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        // Fits the 32 KiB, but leaves libmicrohttpd too little to build an answer in: KeyViz
        // writes a 431 itself.
        let near = try exchange(live.port, head(costing: 32_000))
        #expect(near?.status == 431)
        #expect(near?.text.hasPrefix("request headers too large") == true)
        // Does not fit at all: libmicrohttpd's own answers.
        #expect(try exchange(live.port, head(costing: 40_000))?.status == 431)
        #expect(try exchange(live.port, get(target(40_000)))?.status == 414)
        // Many small header fields: each is a record in the same memory.
        for n in stride(from: 100, through: 3_000, by: 149) {
            let fields = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + String(repeating: "a:\r\n", count: n) + "\r\n"
            #expect(try exchange(live.port, Array(fields.utf8)) != nil, "\(n) fields")
        }
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
    }

    @Test func cookiesCountTowardTheHeadAndAFloodOfThemIsClosedUnansweredByLibmicrohttpd() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        func cookies(_ n: Int) -> [UInt8] {
            Array(("GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: " + Array(repeating: "a=1", count: n).joined(separator: "; ") + "\r\n\r\n").utf8)
        }
        // 219 cookies: 1137 bytes + 221 records × 64 + the 1094-byte copy = 16375; 220: 16449.
        #expect(try exchange(live.port, cookies(219))?.status == 200)
        #expect(try exchange(live.port, cookies(220))?.status == 431)
        #expect(try exchange(live.port, cookies(440))?.status == 431)
        // libmicrohttpd 0.9.75 runs out of memory splitting this many, clears the headers while
        // queueing its 431, then fails its own Host check on them and closes the connection
        // without a word, before KeyViz sees the request. Pinned so an upgrade that answers is
        // noticed (docs/operations.md, Strictness).
        #expect(try exchange(live.port, cookies(1_000)) == nil)
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
    }

    @Test func aClientStillSendingAfterItsHeadWasRefusedCanFinishAndReadThe431() throws {
        let live = try LiveServer()
        defer { live.server.stop() }
        // 40 000 bytes of head: libmicrohttpd reads 32 KiB, answers 431 and closes. The client
        // sends 10 000 bytes more after the answer is out, as a slow client would. Closing with
        // those bytes unread reset the connection: the second write failed (broken pipe) and a
        // client such as curl gave up without reading the answer. The server now reads and
        // discards them first (docs/operations.md, Lingering close).
        let c = try TestConnection(port: live.port, timeoutSeconds: 10)
        let first = head(costing: 40_000)
        #expect(c.send(Array(first.dropLast(2))))
        usleep(300_000)
        let rest = Array(repeating: UInt8(ascii: "a"), count: 10_000) + Array("\r\n".utf8)
        let sentTheRest = c.send(rest)
        #expect(sentTheRest, "the second write was reset")
        let r = try c.readResponse()
        #expect(r.status == 431)
        #expect(c.waitForClose())
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
    }

    @Test func aLingeringSocketIsResetPastItsTimeAndItsCountIsBounded() throws {
        let lingering = LingeringClose(seconds: 0.2, maxBytes: 1 << 20, capacity: 2)
        var pairs: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
            pairs.append(fds)
        }
        defer { for p in pairs { close(p[1]) } }
        #expect(lingering.adopt(pairs[0][0]))
        #expect(lingering.adopt(pairs[1][0]))
        #expect(!lingering.adopt(pairs[2][0]), "a third socket past the capacity of 2")
        for p in pairs { close(p[0]) }          // the owner closes; the copies keep the sockets open
        // A client that closes is let go at the next drain; one that does not, after 0.2 s.
        #expect(write(pairs[0][1], "rest", 4) == 4)
        close(pairs[0][1]); pairs[0][1] = -1
        lingering.drainReady()
        #expect(lingering.count == 1)
        usleep(250_000)
        lingering.drainReady()
        #expect(lingering.count == 0)
        var byte: UInt8 = 0
        #expect(read(pairs[1][1], &byte, 1) == 0, "the lingering copy was closed")
    }

    @Test func overTLSTooAnOversizedHeadIsAnswered() async throws {
        try await withSelfSignedCertificate { cert, key in
            var config = ephemeral()
            config.tlsCertificatePEM = try String(contentsOfFile: cert, encoding: .utf8)
            config.tlsKeyPEM = try String(contentsOfFile: key, encoding: .utf8)
            let live = try LiveServer(configuration: config)
            defer { live.server.stop() }
            func status(padding: Int) async throws -> String {
                let out = try await run(["curl", "-sS", "--max-time", "10", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}",
                                   "-H", "X-Pad: " + String(repeating: "a", count: padding), "https://127.0.0.1:\(live.port)/healthz"])
                return String(decoding: out.output, as: UTF8.self)
            }
            await #expect(try status(padding: 100) == "200")
            await #expect(try status(padding: 20_000) == "431")      // queued through libmicrohttpd
            // libmicrohttpd's own answer, before all of the head is read: curl is often still
            // sending when it comes. Closing at once reset the connection under curl's write
            // (a broken pipe, no status) in up to 1 of 8 requests on a loaded machine; the
            // lingering close reads the rest first. Repeated, since the race was a race.
            var lost: [String] = []
            for _ in 0..<40 { let s = try await status(padding: 40_000); if s != "431" { lost.append(s) } }
            #expect(lost.isEmpty, "\(lost)")
            // Around the 32 KiB some are written directly (too little memory left), through the
            // connection's TLS session.
            var unanswered: [Int] = []
            for padding in stride(from: 32_000, through: 32_800, by: 16) where try await status(padding: padding) != "431" {
                unanswered.append(padding)
            }
            #expect(unanswered.isEmpty, "\(unanswered)")
        }
    }
}
