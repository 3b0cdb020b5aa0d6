public import KeyViz

/// Why a state file could not be written or read; the text names the file and the cause.
public enum StateFileError: Error, Sendable, CustomStringConvertible {
    /// A system call failed: the call, the path, `strerror(errno)`.
    case system(call: String, path: String, reason: String)
    /// The file is there but is not a matrix history.
    case corrupt(path: String, MatrixHistoryCodecError)
    /// Larger than ``MatrixStateFile/maxFileBytes``.
    case tooLarge(path: String, bytes: Int)

    public var description: String {
        switch self {
        case .system(let call, let path, let reason): "\(call) \(path): \(reason)"
        case .corrupt(let path, let e): "\(path): \(e)"
        case .tooLarge(let path, let n): "\(path): \(n) bytes, more than a state file may hold (\(MatrixStateFile.maxFileBytes))"
        }
    }
}
