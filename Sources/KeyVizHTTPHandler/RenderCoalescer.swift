import Foundation
import KeyVizPrometheus

/// Shares one render among concurrent scrapes, blocking (libmicrohttpd's threads) or async.
///
/// A render folds and writes under the sampler's lock, so concurrent scrapes would otherwise
/// render one after another, each paying the full cost. Here a scrape waits for a render that
/// *started after it arrived* (so it never gets a snapshot older than its request) and, if none
/// is running, runs one itself; every scrape waiting for the same format takes that result.
/// The idea is client_golang's `CoalesceGather`. A blocking scrape waits on the condition; an
/// async one suspends (its continuation is resumed when a render ends) and never holds a
/// thread while it waits.
final class RenderCoalescer: Sendable {
    /// What a waiting async scrape is told when it may look again.
    private enum Turn: Sendable {
        case rendered([UInt8])
        case render(ticket: UInt64)
        case lookAgain
    }

    private let metrics: any MetricsExposition
    private let condition = NSCondition()
    // Guarded by `condition` (NSCondition is a lock and a condition variable in one).
    private nonisolated(unsafe) var started: UInt64 = 0
    private nonisolated(unsafe) var running = false
    private nonisolated(unsafe) var latest: [ExpositionFormat: (ticket: UInt64, body: [UInt8])] = [:]
    private nonisolated(unsafe) var renders: UInt64 = 0
    private nonisolated(unsafe) var suspended: [CheckedContinuation<Turn, Never>] = []

    init(metrics: any MetricsExposition) {
        self.metrics = metrics
    }

    func render(format: ExpositionFormat) -> [UInt8] {
        condition.lock()
        let arrival = started
        while true {
            if let r = latest[format], r.ticket > arrival {
                condition.unlock()
                return r.body
            }
            if !running { break }
            condition.wait()
        }
        running = true
        started += 1
        let ticket = started
        condition.unlock()
        return finish(ticket: ticket, format: format, body: metrics.render(format: format))
    }

    func render(format: ExpositionFormat) async -> [UInt8] {
        let arrival = condition.withLock { started }
        while true {
            let turn = await withCheckedContinuation { (c: CheckedContinuation<Turn, Never>) in
                condition.lock()
                if let r = latest[format], r.ticket > arrival {
                    condition.unlock()
                    c.resume(returning: .rendered(r.body))
                } else if !running {
                    running = true
                    started += 1
                    let ticket = started
                    condition.unlock()
                    c.resume(returning: .render(ticket: ticket))
                } else {
                    suspended.append(c)
                    condition.unlock()
                }
            }
            switch turn {
            case .rendered(let body): return body
            case .render(let ticket): return finish(ticket: ticket, format: format, body: metrics.render(format: format))
            case .lookAgain: continue
            }
        }
    }

    /// Publishes a render and wakes every waiter, blocking or async, to look again.
    private func finish(ticket: UInt64, format: ExpositionFormat, body: [UInt8]) -> [UInt8] {
        condition.lock()
        latest[format] = (ticket, body)
        running = false
        renders += 1
        let waiting = suspended
        suspended = []
        condition.broadcast()
        condition.unlock()
        for c in waiting { c.resume(returning: .lookAgain) }
        return body
    }

    /// Renders actually run (for tests).
    var renderCount: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return renders
    }
}
