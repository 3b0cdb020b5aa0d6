#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KeyVizCluster
import Synchronization

/// A hostile peer on 127.0.0.1: answers every connection with the same canned bytes (any
/// framing, however wrong), then closes. Bounded: it serves at most `maxConnections` and stops
/// on `stop()`; the thread never outlives the test by more than one poll interval.
final class HostilePeer: Sendable {
    let port: UInt16
    private let fd: Int32
    private let flags = Flags()

    private final class Flags: Sendable {
        let running = Atomic<Bool>(true)
        let finished = Atomic<Bool>(false)
    }

    /// - Parameter answer: the bytes written after the request's headers are read; nil writes
    ///   nothing and holds the connection open until stopped (a peer that never answers).
    init(answer: [UInt8]?, maxConnections: Int = 16) throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw PeerFetchError("socket") }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = 0
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(s, 16) == 0 else { close(s); throw PeerFetchError("bind") }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        port = UInt16(bigEndian: actual.sin_port)
        fd = s
        let thread = Thread { [flags] in
            var served = 0
            var held: [Int32] = []
            while flags.running.load(ordering: .relaxed), served < maxConnections {
                var p = pollfd(fd: s, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                let c = accept(s, nil, nil)
                guard c >= 0 else { continue }
                served += 1
                // Read the request's headers (bounded), then answer.
                var request: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while request.count < 65_536 {
                    var q = pollfd(fd: c, events: Int16(POLLIN), revents: 0)
                    guard poll(&q, 1, 2000) > 0 else { break }
                    let n = buffer.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                    guard n > 0 else { break }
                    request.append(contentsOf: buffer[0..<n])
                    if request.count >= 4, request.suffix(4).elementsEqual([13, 10, 13, 10]) { break }
                }
                guard let answer else { held.append(c); continue }
                var sent = 0
                while sent < answer.count {
                    let n = answer.withUnsafeBytes { send(c, $0.baseAddress! + sent, answer.count - sent, Int32(MSG_NOSIGNAL)) }
                    guard n > 0 else { break }
                    sent += n
                }
                close(c)
            }
            while flags.running.load(ordering: .relaxed) { usleep(20_000) }
            for c in held { close(c) }
            flags.finished.store(true, ordering: .releasing)
        }
        thread.start()
    }

    var address: PeerAddress { PeerAddress(host: "127.0.0.1", port: port) }

    func stop() {
        flags.running.store(false, ordering: .relaxed)
        while !flags.finished.load(ordering: .acquiring) { usleep(5_000) }
        close(fd)
    }
}

/// An HTTP answer with exactly these header lines and body.
func rawAnswer(_ head: [String], body: String = "") -> [UInt8] {
    Array((head.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
}
