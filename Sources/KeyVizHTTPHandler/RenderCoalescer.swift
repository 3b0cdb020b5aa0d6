import Foundation
import KeyVizPrometheus

/// Shares one render among concurrent scrapes.
///
/// A render folds and writes under the sampler's lock, so concurrent scrapes would otherwise
/// render one after another, each paying the full cost. Here a scrape waits for a render that
/// *started after it arrived* (so it never gets a snapshot older than its request) and, if none
/// is running, runs one itself; every scrape waiting for the same format takes that result.
/// The idea is client_golang's `CoalesceGather`.
final class RenderCoalescer: Sendable {
    private let metrics: any MetricsExposition
    private let condition = NSCondition()
    // Guarded by `condition` (NSCondition is a lock and a condition variable in one).
    private nonisolated(unsafe) var started: UInt64 = 0
    private nonisolated(unsafe) var running = false
    private nonisolated(unsafe) var latest: [ExpositionFormat: (ticket: UInt64, body: [UInt8])] = [:]
    private nonisolated(unsafe) var renders: UInt64 = 0

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

        let body = metrics.render(format: format)

        condition.lock()
        latest[format] = (ticket, body)
        running = false
        renders += 1
        condition.broadcast()
        condition.unlock()
        return body
    }

    /// Renders actually run (for tests).
    var renderCount: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return renders
    }
}
