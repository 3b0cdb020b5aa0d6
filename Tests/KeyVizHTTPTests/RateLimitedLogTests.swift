@testable import KeyVizHTTP
@testable import KeyVizHTTPHandler
import Synchronization
import KeyVizTestKit
import Testing

@Suite struct RateLimitedLogTests {
    final class FakeClock: Sendable {
        let now = Mutex(0.0)
        func advance(_ s: Double) { now.withLock { $0 += s } }
    }

    @Test func passesABurstPerIntervalThenReportsHowManyItSuppressed() {
        let captured = CapturedLog()
        let clock = FakeClock()
        let log = RateLimitedLog(logger: captured.logger, burst: 3, intervalSeconds: 10, clock: { clock.now.withLock { $0 } })
        for i in 0..<10 { log.warning("line \(i)") }
        // warning() only queues: libmicrohttpd's thread never writes to the log sink itself.
        #expect(captured.lines.withLock { $0 } == [])
        log.flush()          // the queued lines; the interval is not over: no report yet
        #expect(captured.lines.withLock { $0 } == ["warning line 0", "warning line 1", "warning line 2"])
        clock.advance(10)
        log.flush()
        #expect(captured.lines.withLock { $0.last } == "warning suppressed 7 messages (more than 3 in 10.0 s)")
        // A new interval passes lines again; a quiet interval reports nothing.
        log.warning("after")
        log.flush()
        #expect(captured.lines.withLock { $0.last } == "warning after")
        clock.advance(10)
        log.flush()
        #expect(captured.lines.withLock { $0.count } == 5)
        // A forced flush (the server's stop) reports at once.
        for i in 0..<5 { log.warning("late \(i)") }
        log.flush(force: true)
        #expect(captured.lines.withLock { $0.last } == "warning suppressed 2 messages (more than 3 in 10.0 s)")
    }

    /// A line queued just before its window ends is written with the next window's lines, in
    /// order, whatever comes between it and the next flush.
    @Test func aLineQueuedAtTheEndOfAWindowIsWrittenAfterTheWindowRolls() {
        let captured = CapturedLog()
        let clock = FakeClock()
        let log = RateLimitedLog(logger: captured.logger, burst: 3, intervalSeconds: 10, clock: { clock.now.withLock { $0 } })
        clock.advance(9.9)
        log.warning("late in the first window")
        clock.advance(0.2)
        log.warning("early in the second")
        log.flush()
        #expect(captured.lines.withLock { $0 } == ["warning late in the first window", "warning early in the second"])
    }
}
