import Logging
import Synchronization

/// Passes at most `burst` lines per `intervalSeconds` to a logger and counts the rest, so a
/// flood of refused connections cannot turn into a flood of log lines. The count is reported
/// as one "suppressed" line when the interval ends (checked on each line and by ``flush()``,
/// which the server calls periodically and on stop).
final class RateLimitedLog: Sendable {
    private struct Window {
        var start: Double
        var passed = 0
        var suppressed = 0
    }

    let logger: Logger
    let burst: Int
    let intervalSeconds: Double
    private let window: Mutex<Window>
    private let clock: @Sendable () -> Double

    init(logger: Logger, burst: Int = 20, intervalSeconds: Double = 10, clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.logger = logger
        self.burst = max(1, burst)
        self.intervalSeconds = intervalSeconds
        self.clock = clock
        window = Mutex(Window(start: clock()))
    }

    func warning(_ line: String) {
        let (pass, report) = window.withLock { w -> (Bool, Int) in
            let report = Self.roll(&w, now: clock(), interval: intervalSeconds)
            guard w.passed < burst else { w.suppressed += 1; return (false, report) }
            w.passed += 1
            return (true, report)
        }
        if report > 0 { reportSuppressed(report) }
        if pass { logger.warning("\(line)") }
    }

    /// Reports lines suppressed in an interval that has ended; `force` reports them now.
    func flush(force: Bool = false) {
        let report = window.withLock { w -> Int in
            if force {
                let n = w.suppressed
                w = Window(start: clock())
                return n
            }
            return Self.roll(&w, now: clock(), interval: intervalSeconds)
        }
        if report > 0 { reportSuppressed(report) }
    }

    private func reportSuppressed(_ n: Int) {
        logger.warning("suppressed \(n) messages (more than \(burst) in \(intervalSeconds) s)")
    }

    /// Starts a new window when the current one is over; returns the lines it suppressed.
    private static func roll(_ w: inout Window, now: Double, interval: Double) -> Int {
        guard now - w.start >= interval else { return 0 }
        let n = w.suppressed
        w = Window(start: now)
        return n
    }
}
