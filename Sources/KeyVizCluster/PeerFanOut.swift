import Synchronization

/// One fan-out's answers as they come in, and the one continuation that gets them: resumed
/// once, when the last peer answered or when the deadline fires, whichever is first. Answers
/// after that are dropped. Nothing here waits: the fetches and the deadline are tasks.
final class PeerFanOut: Sendable {
    private struct State {
        var results: [Result<PeerResponse, PeerFetchError>?]
        var outstanding: Int
        var done: CheckedContinuation<[Result<PeerResponse, PeerFetchError>?], Never>?
        var finished = false
        var onFinish: (@Sendable () -> Void)?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), outstanding: count))
    }

    func start(_ done: CheckedContinuation<[Result<PeerResponse, PeerFetchError>?], Never>) {
        state.withLock { $0.done = done }
    }

    /// Runs `action` when the fan-out finishes (now, if it has).
    func onFinish(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.finished { return true }
            s.onFinish = action
            return false
        }
        if now { action() }
    }

    func record(_ index: Int, _ result: Result<PeerResponse, PeerFetchError>) {
        let last = state.withLock { s -> Bool in
            guard !s.finished else { return false }
            s.results[index] = result
            s.outstanding -= 1
            return s.outstanding == 0
        }
        if last { finish() }
    }

    /// Hands what came in so far to the waiting caller, once.
    func finish() {
        let taken = state.withLock { s -> (CheckedContinuation<[Result<PeerResponse, PeerFetchError>?], Never>, [Result<PeerResponse, PeerFetchError>?], (@Sendable () -> Void)?)? in
            guard !s.finished, let done = s.done else { return nil }
            s.finished = true
            s.done = nil
            defer { s.onFinish = nil }
            return (done, s.results, s.onFinish)
        }
        guard let (done, results, action) = taken else { return }
        action?()
        done.resume(returning: results)
    }
}
