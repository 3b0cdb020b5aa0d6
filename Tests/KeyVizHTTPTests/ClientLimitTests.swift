import Foundation
import KeyViz
import KeyVizHTTP
import KeyVizTestKit
import Synchronization
import Testing

/// One host holding connections with unfinished headers, over real sockets: the per-client
/// connection limit and the header deadline keep the server reachable for everyone else.
@Suite(.serialized) struct ClientLimitTests {
    @Test func oneHostReopeningUnfinishedConnectionsDoesNotKeepScrapesOut() async throws {
        // The demo node's limits: 64 connections, 16 per client; 5 s for a new connection's
        // headers (the default).
        var config = ephemeral()
        config.connectionLimitPerClient = 16
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        let attacking = Atomic<Bool>(true)
        let opened = Atomic<Int>(0), refused = Atomic<Int>(0)
        let scrapes = Mutex<[Int]>([])
        let start = Date(), firstDeadlineClose = Mutex<Double?>(nil)
        let noteDeadlineClose: @Sendable () -> Void = {
            if live.server.connectionsTimedOut > 0 { firstDeadlineClose.withLock { $0 = $0 ?? Date().timeIntervalSince(start) } }
        }
        // The attacker, from 127.0.0.2: 80 sockets, each sending a request line and a header but
        // never the blank line, re-opened as soon as the server closes it (every 50 ms at most).
        let attacker: @Sendable () -> Void = {
            var sockets: [TestConnection?] = Array(repeating: nil, count: 80)
            while attacking.load(ordering: .relaxed) {
                for i in sockets.indices {
                    if let c = sockets[i], !c.peerHasClosed { continue }
                    if sockets[i] != nil { refused.wrappingAdd(1, ordering: .relaxed) }
                    sockets[i] = try? TestConnection(port: live.port, timeoutSeconds: 1, from: "127.0.0.2")
                    if let c = sockets[i] {
                        c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        opened.wrappingAdd(1, ordering: .relaxed)
                    }
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        // The scraper, from 127.0.0.1: a fresh connection every 100 ms for 9 s, while attacked.
        let scraper: @Sendable () -> Void = {
            Thread.sleep(forTimeInterval: 0.5)      // the attacker's first round is in
            let end = Date().addingTimeInterval(9)
            while Date() < end {
                let status = (try? fetch(live.port, "GET", "/metrics"))?.status ?? -1
                scrapes.withLock { $0.append(status) }
                noteDeadlineClose()
                Thread.sleep(forTimeInterval: 0.1)
            }
            // The connections the server kept are still held: wait (bounded) for the header
            // deadline to close one, so a deadline kept late on a busy machine is not read as
            // one never kept.
            let grace = Date().addingTimeInterval(20)
            while live.server.connectionsTimedOut == 0 && Date() < grace { Thread.sleep(forTimeInterval: 0.1) }
            noteDeadlineClose()
            attacking.store(false, ordering: .relaxed)
        }
        await ConcurrentRunner.run([attacker, scraper])
        let got = scrapes.withLock { $0 }
        let answered = got.filter { $0 == 200 }.count
        print("attacker: \(opened.load(ordering: .relaxed)) connections opened, \(refused.load(ordering: .relaxed)) closed by the server, "
              + "\(live.server.connectionsTimedOut) by the deadlines (the first seen \(firstDeadlineClose.withLock { $0 }.map { "\(Int($0 * 1000)) ms" } ?? "never") after the start); scraper: \(answered) of \(got.count) scrapes answered 200")
        #expect(got.count >= 20)
        #expect(Double(answered) >= 0.99 * Double(got.count), "\(got.filter { $0 != 200 })")
        // The attack was real: more connections than the server has room for, refused and
        // re-opened, and the ones it kept were closed by the header deadline.
        #expect(opened.load(ordering: .relaxed) > 160)
        #expect(refused.load(ordering: .relaxed) > 80)
        #expect(live.server.connectionsTimedOut >= 1)
    }

    @Test func aNewConnectionThatNeverFinishesItsHeadersIsClosedAtTheHeaderDeadline() throws {
        var config = ephemeral()
        config.connectionTimeout = .seconds(60)
        config.headerTimeout = .seconds(1)
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        let slow = try TestConnection(port: live.port, timeoutSeconds: 20)
        slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        // Closed by the 1 s header deadline, long before the 60 s one.
        #expect(slow.waitForClose())
        #expect(live.server.connectionsTimedOut == 1)
        // A connection that has sent a request may then idle up to the whole deadline.
        let kept = try TestConnection(port: live.port)
        kept.send(TestConnection.request("GET", "/healthz"))
        #expect(try kept.readResponse().status == 200)
        Thread.sleep(forTimeInterval: 2.5)
        #expect(!kept.peerHasClosed)
        kept.send(TestConnection.request("GET", "/healthz"))
        #expect(try kept.readResponse().status == 200)
        #expect(live.server.connectionsTimedOut == 1)
    }

    @Test func connectionsPastThePerClientLimitAreRefusedWhileOtherClientsAreServed() throws {
        var config = ephemeral()
        config.connectionLimitPerClient = 3
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        let held = try (0..<3).map { _ in try TestConnection(port: live.port, from: "127.0.0.2") }
        for c in held { c.send("GET /healthz HTTP/1.1\r\n") }
        // The fourth from the same address is closed unanswered, at once.
        let fourth = try TestConnection(port: live.port, timeoutSeconds: 5, from: "127.0.0.2")
        fourth.send(TestConnection.request("GET", "/healthz"))
        #expect(fourth.readChunk() == nil)
        // Another address is served, and the held ones still are.
        let other = try TestConnection(port: live.port, from: "127.0.0.3")
        other.send(TestConnection.request("GET", "/healthz"))
        #expect(try other.readResponse().status == 200)
        for c in held {
            c.send("Host: 127.0.0.1\r\n\r\n")
            #expect(try c.readResponse().status == 200)
        }
    }

    /// (Out-of-range values are refused at start: ServerTests.) A per-client limit above the
    /// connection limit, or a header timeout above the request one, is valid and never binds first.
    @Test func aLimitLooserThanTheOneAboveItStartsAndTheTighterOneHolds() throws {
        // Looser than the limit above them (per client above the connection limit, headers slower
        // than the whole request): they start, and the tighter limit holds: a header that never
        // ends is closed by the 2 s request deadline.
        var config = ephemeral()
        config.connectionLimit = 8
        config.connectionLimitPerClient = 1_000
        config.connectionTimeout = .seconds(2)
        config.headerTimeout = .seconds(60)
        let live = try LiveServer(configuration: config)
        defer { live.server.stop() }
        #expect(try fetch(live.port, "GET", "/healthz").status == 200)
        let slow = try TestConnection(port: live.port, timeoutSeconds: 20)
        slow.send("GET /healthz HTTP/1.1\r\n")
        #expect(slow.waitForClose())
    }
}
