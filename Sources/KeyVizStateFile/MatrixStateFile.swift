#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
public import Musl
#endif
public import KeyViz
public import Logging
import Synchronization

/// A heat matrix's history in a file (`<directory>/matrix.state`), so it survives a restart.
///
/// Saves are atomic: the bytes go to `matrix.state.tmp` in the same directory, are fsynced,
/// renamed over `matrix.state`, and the directory is fsynced; so after a crash at any point the
/// file is the previous state or the new one, never a mix. A file that cannot be used at start
/// (truncated, bit rot, not ours) is logged and renamed to `matrix.state.corrupt-<unix seconds>`,
/// and the node starts empty: nothing else is lost, and the next save writes a good file. One
/// node per directory (the temporary name is fixed; a leftover temp file is removed at start).
/// Saves from several threads are serialized.
public final class MatrixStateFile: Sendable {
    public let directory: String
    /// The state file's path.
    public let path: String
    /// Where load and save problems are reported.
    public let logger: Logger
    private let writing = Mutex(())

    /// Largest file `load` reads (1 GiB): a bigger one is set aside, not read into memory.
    public static let maxFileBytes = 1 << 30

    /// Creates `directory` (one level) when missing, and checks that it is a writable
    /// directory, so a bad `--state-dir` fails at start rather than at the first save.
    public init(directory: String, fileName: String = "matrix.state", logger: Logger) throws(StateFileError) {
        self.directory = directory
        path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
        self.logger = logger
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw Self.failure("mkdir", directory) }
        var st = stat()
        guard stat(directory, &st) == 0 else { throw Self.failure("stat", directory) }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw .system(call: "use", path: directory, reason: "not a directory") }
        guard access(directory, W_OK | X_OK) == 0 else { throw Self.failure("access", directory) }
        // A temp file left by a save that was killed half way: never the state, safe to drop.
        unlink(path + ".tmp")
    }

    // MARK: saving

    /// Encodes the sampler's history and writes it atomically; returns the bytes written.
    @discardableResult
    public func save(_ matrix: HeatMatrixSampler) throws(StateFileError) -> Int {
        let bytes = matrix.encodedHistory()
        try write(bytes)
        return bytes.count
    }

    /// Writes `bytes` as the state file: temp file, fsync, rename, fsync of the directory.
    public func write(_ bytes: [UInt8]) throws(StateFileError) {
        let tmp = path + ".tmp"
        let result: Result<Void, StateFileError> = writing.withLock { _ in
            let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return .failure(Self.failure("open", tmp)) }
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let e = Self.failure("write", tmp)
                    close(fd); unlink(tmp)
                    return .failure(e)
                }
                done += n
            }
            if fsync(fd) != 0 {
                let e = Self.failure("fsync", tmp)
                close(fd); unlink(tmp)
                return .failure(e)
            }
            if close(fd) != 0 {
                let e = Self.failure("close", tmp)
                unlink(tmp)
                return .failure(e)
            }
            if rename(tmp, path) != 0 {
                let e = Self.failure("rename", path)
                unlink(tmp)
                return .failure(e)
            }
            let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dfd >= 0 else { return .failure(Self.failure("open", directory)) }
            defer { close(dfd) }
            guard fsync(dfd) == 0 else { return .failure(Self.failure("fsync", directory)) }
            return .success(())
        }
        try result.get()
    }

    // MARK: the node's id

    /// This node's stable id, kept in `<directory>/node-id`: read when the file holds one, else
    /// made (16 random hex digits) and written atomically. A cluster view counts each id once,
    /// so the id must be the node's own: one node per directory, as for the state.
    public func nodeID() throws(StateFileError) -> String {
        let idPath = directory.hasSuffix("/") ? directory + "node-id" : directory + "/node-id"
        let fd = open(idPath, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            close(fd)
            let text = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).trimmingWhitespace
            if Self.isValidNodeID(text) { return text }
            let aside = idPath + ".corrupt-\(time(nil))"
            let moved = rename(idPath, aside) == 0
            logger.warning("node-id file does not hold an id (1…128 letters, digits, '.', '_', '-' or ':'); set aside, writing a new id",
                           metadata: ["path": "\(idPath)", "aside": "\(moved ? aside : "(rename failed)")"])
        }
        var rng = SystemRandomNumberGenerator()
        let id = String(rng.next(), radix: 16).leftPadded(to: 16)
        let tmp = idPath + ".tmp"
        let out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw Self.failure("open", tmp) }
        let bytes = Array((id + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(out, $0.baseAddress!, $0.count) }
        let synced = fsync(out) == 0
        close(out)
        guard written == bytes.count, synced, rename(tmp, idPath) == 0 else {
            let e = Self.failure("write", idPath)
            unlink(tmp)
            throw e
        }
        return id
    }

    /// 1…128 characters of letters, digits, `.`, `_`, `-` and `:`: safe in JSON, logs and labels.
    public static func isValidNodeID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "-") || b == UInt8(ascii: ":")
        }
    }

    // MARK: loading

    /// At start: reads the state file into `matrix`. A file that cannot be used is logged at
    /// error level and renamed aside; the node then starts empty. The file is checked whole,
    /// then restored one column at a time (`HeatMatrixSampler.restore(encoded:)`): memory is
    /// the file's bytes, its route table and the matrix's own configured history.
    public func load(into matrix: HeatMatrixSampler) -> MatrixStateLoad {
        let restored: (columns: Int, newestUnixMs: Int64?)?
        do throws(StateFileError) {
            guard let bytes = try Self.readBytes(path: path) else {
                logger.info("no matrix state file yet; starting empty", metadata: ["path": "\(path)"])
                return .absent
            }
            do {
                restored = try matrix.restore(encoded: bytes)
            } catch {
                throw .corrupt(path: path, error)
            }
        } catch {
            let aside = path + ".corrupt-\(time(nil))"
            let moved = rename(path, aside) == 0
            let reason = error.description
            logger.error("matrix state file unusable, set aside; starting with an empty matrix",
                         metadata: ["path": "\(path)", "reason": "\(reason)", "aside": "\(moved ? aside : "(rename failed: \(String(cString: strerror(errno))))")"])
            return .setAside(asidePath: moved ? aside : nil, reason: reason)
        }
        guard let restored else {
            logger.warning("matrix already has columns; state file not restored", metadata: ["path": "\(path)"])
            return .samplerNotEmpty
        }
        logger.info("matrix history restored", metadata: ["path": "\(path)", "columns": "\(restored.columns)",
                                                          "newest_unix_ms": "\(restored.newestUnixMs.map(String.init) ?? "none")"])
        return .restored(columns: restored.columns, newestUnixMs: restored.newestUnixMs)
    }

    /// Reads and decodes a state file; nil when there is none.
    public static func read(path: String) throws(StateFileError) -> MatrixHistory? {
        guard let bytes = try readBytes(path: path) else { return nil }
        do {
            return try MatrixHistoryCodec.decode(bytes)
        } catch {
            throw .corrupt(path: path, error)
        }
    }

    /// A state file's bytes (at most ``maxFileBytes``); nil when there is none.
    static func readBytes(path: String) throws(StateFileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw failure("open", path)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure("fstat", path) }
        let size = Int(st.st_size)
        guard size <= maxFileBytes else { throw .tooLarge(path: path, bytes: size) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if n == 0 { bytes.removeSubrange(done...); break }     // shrank while reading
            done += n
        }
        return bytes
    }

    private static func failure(_ call: String, _ path: String) -> StateFileError {
        .system(call: call, path: path, reason: String(cString: strerror(errno)))
    }
}

private extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }

    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
