/// One of the four counters a heat matrix or a metric family shows.
public enum Series: String, Sendable, CaseIterable {
    case reads
    case writes
    case readBytes = "read_bytes"
    case writeBytes = "write_bytes"

    /// Parses the wire name (`reads`, `writes`, `read_bytes`, `write_bytes`).
    public init?(wireName: String) { self.init(rawValue: wireName) }
}
