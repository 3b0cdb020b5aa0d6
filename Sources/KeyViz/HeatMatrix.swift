/// A routes × time matrix of one series, as the matrix API and dashboards consume it.
///
/// Columns are flush times (oldest first); rows are in key order. A row is one route, or an
/// aggregate of adjacent routes when there were more routes than the row budget: each
/// aggregate cell is the exact sum of its members, so every column's total is preserved.
public struct HeatMatrix: Sendable, Equatable {
    public var series: Series
    /// The end of each column's window, Unix milliseconds, oldest first.
    public var columnUnixMs: [Int64]
    public var rows: [HeatMatrixRow]
    /// Observations whose route was unknown, per column.
    public var unrouted: [UInt64]
    /// The width of the tier the columns come from (0 = not said): with history tiers, a
    /// matrix of older times has wider columns than the flush interval.
    public var stepMilliseconds: Int64

    public init(series: Series, columnUnixMs: [Int64], rows: [HeatMatrixRow], unrouted: [UInt64], stepMilliseconds: Int64 = 0) {
        self.series = series
        self.columnUnixMs = columnUnixMs
        self.rows = rows
        self.unrouted = unrouted
        self.stepMilliseconds = stepMilliseconds
    }

    /// The sum of every row's value in column `column` (unrouted not included).
    public func columnTotal(_ column: Int) -> UInt64 {
        rows.reduce(0) { $0 &+ $1.values[column] }
    }
}

/// One row of a ``HeatMatrix``.
public struct HeatMatrixRow: Sendable, Equatable {
    /// `route:<id>` for one route, `aggregate:<first id>+<n>` for merged neighbours.
    public var rowID: String
    public var start: [UInt8]
    /// Exclusive end key; empty means +infinity.
    public var end: [UInt8]
    public var aggregate: Bool
    /// Member route ids in key order, at most ``HeatMatrixRow/maxListedRoutes``.
    public var routeIDs: [RouteID]
    public var routeIDsTruncated: Bool
    public var routeCount: Int
    /// One value per matrix column.
    public var values: [UInt64]

    public static let maxListedRoutes = 256

    public init(rowID: String, start: [UInt8], end: [UInt8], aggregate: Bool, routeIDs: [RouteID],
                routeIDsTruncated: Bool, routeCount: Int, values: [UInt64]) {
        self.rowID = rowID
        self.start = start
        self.end = end
        self.aggregate = aggregate
        self.routeIDs = routeIDs
        self.routeIDsTruncated = routeIDsTruncated
        self.routeCount = routeCount
        self.values = values
    }

    public var total: UInt64 { values.reduce(0, &+) }
}
