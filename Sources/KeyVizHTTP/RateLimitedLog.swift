import Logging
import Synchronization

/// Passes at most `burst` lines per `intervalSeconds` to a logger and counts the rest, so a
/// flood of refused connections cannot turn into a flood of log lines. The count is reported
/// as one "suppressed" line when the interval ends (checked on each line and by ``flush()``).
///
/// ``warning(_:)`` only queues (at most `burst` lines and one report): libmicrohttpd calls it on
/// its one polling thread, which must never wait on a slow log sink (a full pipe would stop the
/// whole server). ``flush()`` writes what is queued; the server calls it from its reaper task
/// every 20-250 ms and on stop.
final class RateLimitedLog: Sendable {
    private struct Window {
        var start: Double
        var passed = 0
        var suppressed = 0
        /// Lines (and reports) to write, in order.
        var queued: [String] = []
    }

    let logger: Logger
    let burst: Int
    let intervalSeconds: Double
    private let window: Mutex<Window>
    private let writing = Mutex(())
    private let clock: @Sendable () -> Double

    init(logger: Logger, burst: Int = 20, intervalSeconds: Double = 10, clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.logger = logger
        self.burst = max(1, burst)
        self.intervalSeconds = intervalSeconds
        self.clock = clock
        window = Mutex(Window(start: clock()))
    }

    func warning(_ line: String) {
        window.withLock { w in
            let report = Self.roll(&w, now: clock(), interval: intervalSeconds)
            if report > 0 { w.queued.append(suppressedLine(report)) }
            // Past a burst, or with several windows' lines still unwritten: counted, not kept.
            guard w.passed < burst, w.queued.count < 4 * burst else { w.suppressed += 1; return }
            w.passed += 1
            w.queued.append(line)
        }
    }

    /// Writes the queued lines, then reports lines suppressed in an interval that has ended;
    /// `force` reports them now.
    func flush(force: Bool = false) {
        // One writer at a time, so lines reach the logger in the order they were queued.
        writing.withLock { _ in
        let lines = window.withLock { w -> [String] in
            var lines = w.queued
            w.queued = []
            let report: Int
            if force {
                report = w.suppressed
                w = Window(start: clock())
            } else {
                report = Self.roll(&w, now: clock(), interval: intervalSeconds)
            }
            if report > 0 { lines.append(suppressedLine(report)) }
            return lines
        }
        for line in lines { logger.warning("\(line)") }
        }
    }

    private func suppressedLine(_ n: Int) -> String {
        "suppressed \(n) messages (more than \(burst) in \(intervalSeconds) s)"
    }

    /// Starts a new window when the current one is over (keeping what is queued); returns the
    /// lines it suppressed.
    private static func roll(_ w: inout Window, now: Double, interval: Double) -> Int {
        guard now - w.start >= interval else { return 0 }
        let n = w.suppressed
        w = Window(start: now, queued: w.queued)
        return n
    }
}
