/// One contiguous key range `[start, end)` served by one shard group.
///
/// Keys are raw bytes compared lexicographically. An empty `end` means +infinity.
public struct Route: Sendable, Hashable, CustomStringConvertible {
    public var id: RouteID
    public var start: [UInt8]
    public var end: [UInt8]
    public var group: ShardGroupID

    public init(id: RouteID, start: [UInt8], end: [UInt8], group: ShardGroupID) {
        self.id = id
        self.start = start
        self.end = end
        self.group = group
    }

    /// True when `end` is +infinity.
    public var isUnbounded: Bool { end.isEmpty }

    /// Whether `key` falls in `[start, end)`.
    public func contains(_ key: some Collection<UInt8>) -> Bool {
        !key.lexicographicallyPrecedes(start) && (end.isEmpty || key.lexicographicallyPrecedes(end))
    }

    public var description: String {
        "route \(id) \(KeyPreview.renderRange(start: start, end: end)) group \(group)"
    }
}
