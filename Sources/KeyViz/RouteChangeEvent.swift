/// One change of the route catalog as a heat matrix saw it: which routes left and which came,
/// when. Route ids are per node, so the key ranges are kept beside them: a reader (the page, a
/// cluster merge) can place the event on the key axis without the node's catalog.
public struct RouteChangeEvent: Sendable, Equatable {
    /// What the change did to the key space.
    public enum Kind: String, Sendable, CaseIterable {
        /// One route replaced by several that cover exactly its range.
        case split
        /// Several adjacent routes replaced by one that covers exactly their range.
        case merge
        /// Routes over keys that had none.
        case add
        /// Routes whose keys now have none.
        case remove
        /// Anything else: ranges moved, or routes replaced by a different number over a
        /// different span.
        case reshape
    }

    public var kind: Kind
    /// When the sampler applied the catalog, Unix milliseconds.
    public var unixMs: Int64
    /// The version of the catalog that made the change.
    public var catalogVersion: UInt64
    /// The routes that left, in key order, at most ``maxListedRoutes``.
    public var before: [Route]
    /// How many routes left (`before` may list fewer).
    public var beforeCount: Int
    /// The routes that came, in key order, at most ``maxListedRoutes``.
    public var after: [Route]
    /// How many routes came (`after` may list fewer).
    public var afterCount: Int

    /// Routes listed per side: a catalog replaced wholesale still makes a small event.
    public static let maxListedRoutes = 64

    public init(kind: Kind, unixMs: Int64, catalogVersion: UInt64, before: [Route], beforeCount: Int? = nil,
                after: [Route], afterCount: Int? = nil) {
        self.kind = kind
        self.unixMs = unixMs
        self.catalogVersion = catalogVersion
        self.before = Array(before.prefix(Self.maxListedRoutes))
        self.beforeCount = beforeCount ?? before.count
        self.after = Array(after.prefix(Self.maxListedRoutes))
        self.afterCount = afterCount ?? after.count
    }
}
