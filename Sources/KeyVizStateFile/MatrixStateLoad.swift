/// What ``MatrixStateFile/load(into:)`` did at start.
public enum MatrixStateLoad: Sendable, Equatable {
    /// No state file: the node starts empty.
    case absent
    /// The history was put back: `columns` in every tier, the newest stamped `newestUnixMs`.
    case restored(columns: Int, newestUnixMs: Int64?)
    /// The file could not be used and was renamed to `asidePath` (nil: it could not be renamed
    /// either); the node starts empty and the next save writes a new file.
    case setAside(asidePath: String?, reason: String)
    /// The sampler already had columns, so nothing was restored; the file is left as it is.
    case samplerNotEmpty
}
