import KeyVizPrometheus
import Synchronization

/// Shares one render among concurrent scrapes without holding a thread while they wait.
///
/// A render folds and writes under the sampler's lock, so concurrent scrapes would otherwise
/// render one after another, each paying the full cost. Here a scrape waits for a render that
/// *started after it arrived* (so it never gets a snapshot older than its request) and, if none
/// is running, runs one itself; every scrape waiting for the same format takes that result.
/// The idea is client_golang's `CoalesceGather`. A waiting scrape is a suspended task (its
/// continuation is resumed when a render ends), never a blocked thread.
final class RenderCoalescer: Sendable {
    /// What a waiting scrape is told when it may look again.
    private enum Turn: Sendable {
        case rendered([UInt8])
        case render(ticket: UInt64)
        case lookAgain
    }

    private struct State {
        var started: UInt64 = 0
        var running = false
        var latest: [ExpositionFormat: (ticket: UInt64, body: [UInt8])] = [:]
        var renders: UInt64 = 0
        var suspended: [CheckedContinuation<Turn, Never>] = []
    }

    private let metrics: any MetricsExposition
    private let state = Mutex(State())

    init(metrics: any MetricsExposition) {
        self.metrics = metrics
    }

    func render(format: ExpositionFormat) async -> [UInt8] {
        let arrival = state.withLock { $0.started }
        while true {
            let turn = await withCheckedContinuation { (c: CheckedContinuation<Turn, Never>) in
                let now: Turn? = state.withLock { s in
                    if let r = s.latest[format], r.ticket > arrival { return .rendered(r.body) }
                    if !s.running {
                        s.running = true
                        s.started += 1
                        return .render(ticket: s.started)
                    }
                    s.suspended.append(c)
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
            switch turn {
            case .rendered(let body): return body
            case .render(let ticket): return finish(ticket: ticket, format: format, body: metrics.render(format: format))
            case .lookAgain: continue
            }
        }
    }

    /// Publishes a render and wakes every waiting scrape to look again.
    private func finish(ticket: UInt64, format: ExpositionFormat, body: [UInt8]) -> [UInt8] {
        let waiting = state.withLock { s in
            s.latest[format] = (ticket, body)
            s.running = false
            s.renders += 1
            defer { s.suspended = [] }
            return s.suspended
        }
        for c in waiting { c.resume(returning: .lookAgain) }
        return body
    }

    /// Renders actually run (for tests).
    var renderCount: UInt64 { state.withLock { $0.renders } }
}
