public import KeyViz

/// A matrix API answer as a value: what the handler writes as JSON, and what it hands a
/// ``ClusterMatrixSource`` as this node's own answer, so the cluster views merge it as it is
/// (no JSON written by the handler and read back by the view).
public struct MatrixAnswer: Sendable {
    /// The rows and columns (series, column stamps, rows, unrouted).
    public var matrix: HeatMatrix
    /// When the answer was made, RFC 3339 (`generated_at`).
    public var generatedAt: String
    /// The step of the columns, milliseconds (`step_ms`).
    public var stepMs: Int64
    /// Route changes over the columns' span, oldest first.
    public var events: [RouteChangeEvent]
    /// Route changes the node's log no longer holds (`events_dropped`).
    public var eventsDropped: UInt64
    /// The node's stable id (`node_id`): the cluster views count each id once.
    public var nodeID: String?

    public init(matrix: HeatMatrix, generatedAt: String, stepMs: Int64, events: [RouteChangeEvent] = [], eventsDropped: UInt64 = 0,
                nodeID: String? = nil) {
        self.matrix = matrix
        self.generatedAt = generatedAt
        self.stepMs = stepMs
        self.events = events
        self.eventsDropped = eventsDropped
        self.nodeID = nodeID
    }
}
