#if canImport(Glibc)
import Glibc
#endif
import CMicroHTTPD
import KeyVizHTTPHandler
import Synchronization

/// One request whose connection libmicrohttpd holds suspended while the handler works on its
/// answer in a task; `answer` is set before the connection is resumed.
final class ParkedRequest: Sendable {
    /// The `struct MHD_Connection *`.
    let connection: Int
    let answer = Mutex<KeyVizHTTPResponse?>(nil)

    init(connection: Int) {
        self.connection = connection
    }
}

/// The requests being answered off libmicrohttpd's thread, so that each connection is resumed
/// exactly once: by its task with its answer, or by the server's stop with a 503 (libmicrohttpd
/// must not be stopped while a connection is suspended). A resume happens under the lock, so a
/// stop that has taken the lock never sees a task resume a connection after it.
final class ParkedRequests: Sendable {
    private struct State {
        var stopping = false
        var parked: [Int: ParkedRequest] = [:]
    }

    private let state = Mutex(State())
    /// Resumed but not yet completed (the answer is being written).
    private let answering = Atomic<Int>(0)

    /// Records `request` and suspends its connection, under the lock, so no resume can come
    /// before the suspend; false (nothing suspended) once the server is stopping.
    func parkAndSuspend(_ request: ParkedRequest) -> Bool {
        state.withLock { s in
            guard !s.stopping else { return false }
            s.parked[request.connection] = request
            MHD_suspend_connection(OpaquePointer(bitPattern: request.connection))
            return true
        }
    }

    /// Requests parked and not yet resumed (their tasks may not have started).
    var parkedCount: Int { state.withLock { $0.parked.count } }

    /// Hands `answer` to the connection and resumes it, unless the stop resumed it already.
    func resume(_ request: ParkedRequest, with answer: KeyVizHTTPResponse) {
        state.withLock { s in
            guard s.parked.removeValue(forKey: request.connection) != nil else { return }
            request.answer.withLock { $0 = answer }
            answering.wrappingAdd(1, ordering: .relaxed)
            MHD_resume_connection(OpaquePointer(bitPattern: request.connection))
        }
    }

    /// Resumes every parked connection with `answer` and parks no more.
    func resumeAll(with answer: KeyVizHTTPResponse) -> Int {
        state.withLock { s in
            s.stopping = true
            for request in s.parked.values {
                request.answer.withLock { $0 = answer }
                answering.wrappingAdd(1, ordering: .relaxed)
                MHD_resume_connection(OpaquePointer(bitPattern: request.connection))
            }
            defer { s.parked = [:] }
            return s.parked.count
        }
    }

    /// A resumed request's answer was written (or its connection closed).
    func completed() { answering.wrappingSubtract(1, ordering: .relaxed) }

    var answeringCount: Int { answering.load(ordering: .relaxed) }
}
