import Foundation
import KeyVizTestKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small HTTP/1.1 client over a raw socket, so tests control every byte:
/// keep-alive, garbage request lines, trickled bytes, abrupt disconnects.
final class TestConnection {
    let fd: Int32

    /// `from`: the local IPv4 address to connect from (any of 127.0.0.0/8 works on loopback),
    /// so that one test can act as several client hosts.
    init(port: UInt16, timeoutSeconds: Int = 5, from source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket: \(errno)") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0 else { close(fd); throw TestError("bind to \(source): \(String(cString: strerror(errno)))") }
        }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { close(fd); throw TestError("connect to \(port): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads one byte chunk; nil on EOF or error (including the receive timeout).
    func readChunk() -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buf[0..<n]) : nil
    }

    private var pending: [UInt8] = []

    /// Reads one complete response (Content-Length framed; HEAD has no body).
    func readResponse(head: Bool = false) throws -> TestResponse {
        while true {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let headText = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let status = Int(statusLine.split(separator: " ")[1]) ?? 0
                var headers: [String: String] = [:]
                for l in lines {
                    guard let c = l.firstIndex(of: ":") else { continue }
                    headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
                }
                let length = head ? 0 : Int(headers["content-length"] ?? "0") ?? 0
                while pending.count - end.upperBound < length {
                    guard let more = readChunk() else { throw TestError("connection ended inside a body") }
                    pending += more
                }
                let body = Array(pending[end.upperBound..<(end.upperBound + length)])
                pending.removeFirst(end.upperBound + length)
                return TestResponse(status: status, headers: headers, body: body)
            }
            guard let more = readChunk() else { throw TestError("connection ended before a response") }
            pending += more
        }
    }

    /// True when the peer has closed or reset the connection, without waiting; data waiting to
    /// be read is left there.
    var peerHasClosed: Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// True when the peer has closed (EOF) within the receive timeout.
    func waitForClose() -> Bool {
        while true {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    static func request(_ method: String, _ path: String, headers: [String: String] = [:], keepAlive: Bool = true) -> String {
        var s = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { s += "\(k): \(v)\r\n" }
        if !keepAlive { s += "Connection: close\r\n" }
        return s + "\r\n"
    }
}

struct TestResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// One request on a fresh connection.
func fetch(_ port: UInt16, _ method: String = "GET", _ path: String, headers: [String: String] = [:]) throws -> TestResponse {
    let c = try TestConnection(port: port)
    c.send(TestConnection.request(method, path, headers: headers, keepAlive: false))
    return try c.readResponse(head: method == "HEAD")
}

/// Runs a command; returns its exit status and combined output.
@discardableResult
func run(_ argv: [String], input: [UInt8] = []) async throws -> (status: Int32, output: [UInt8]) {
    try await ToolRunner.run(argv, input: input)
}

func promtoolClean(_ body: [UInt8]) async throws -> Bool {
    try await ToolRunner.promtoolComplaints(body) == nil
}

/// Resident memory of a process in bytes, from /proc.
func residentBytes(pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
    }
    return 0
}

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The demo node binary built next to the tests. It is built under the package's Demo trait;
/// without it the target is a stub that says so, and these tests are not built against it.
func demoBinary() throws -> String {
    #if Demo
    for config in ["debug", "release"] {
        let path = packageRoot.appendingPathComponent(".build/\(config)/keyviz-demo").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    #endif
    // Like a missing tool: `swift test` alone skips the test saying why; scripts/test.sh builds
    // the demo first and sets KEYVIZ_REQUIRE_TOOLS=1, so there it must run.
    if ProcessInfo.processInfo.environment["KEYVIZ_REQUIRE_TOOLS"] != "1" {
        try Test.cancel("keyviz-demo is not built: `swift build --traits Demo` and `swift test --traits Demo` (scripts/test.sh does)")
    }
    throw TestError("keyviz-demo is not built: `swift build --traits Demo` (scripts/test.sh does) before the tests")
}

/// A running demo node, stopped (SIGTERM) when released.
final class DemoProcess {
    let process = Process()
    let port: UInt16
    private let stderr = Pipe()
    private(set) var log = ""

    init(_ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try demoBinary())
        process.arguments = ["--listen", "127.0.0.1:0"] + args
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var found: UInt16?
        let deadline = Date().addingTimeInterval(20)
        while found == nil && Date() < deadline {
            let data = stderr.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
            if let r = log.range(of: #"serving https?://127\.0\.0\.1:(\d+)/metrics"#, options: .regularExpression) {
                found = UInt16(log[r].split(separator: ":").last!.split(separator: "/").first!)
            }
        }
        guard let found else { process.terminate(); throw TestError("demo did not start: \(log)") }
        port = found
    }

    /// The demo's live heap bytes (glibc's mallinfo2), which it writes to stderr on SIGUSR1.
    func heapInUseBytes(timeoutSeconds: Double = 10) throws -> Int {
        var fresh = ""
        kill(process.processIdentifier, SIGUSR1)
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        let fd = stderr.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            if let r = fresh.range(of: #"heap in use -?\d+ bytes"#, options: .regularExpression),
               let n = Int(fresh[r].split(separator: " ")[3]) {
                log += fresh
                return n
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) >= 0 else { continue }
            if p.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                fresh += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        log += fresh
        throw TestError("no heap report from the demo within \(timeoutSeconds) s: \(fresh)")
    }

    /// Sends SIGTERM and waits; returns the exit status. Reads the demo's stderr meanwhile: a
    /// demo whose pipe filled (its warnings unread during a long test) would block in a write
    /// and never exit, and the wait would hang the test (seen with the debug build).
    func terminate() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let fd = stderr.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 65536)
        while process.isRunning {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            log += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
