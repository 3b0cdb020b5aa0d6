import KeyViz
public import KeyVizHTTPHandler

extension NodeMatrix {
    /// A node's matrix answer handed over as a value (this node's own, from the handler): the
    /// same matrix its JSON would decode to, without writing and reading that JSON.
    public init(_ answer: MatrixAnswer) {
        self.init(series: answer.matrix.series.rawValue, generatedAt: answer.generatedAt, stepMs: answer.stepMs,
                  columnUnixMs: answer.matrix.columnUnixMs, unrouted: answer.matrix.unrouted,
                  rows: answer.matrix.rows.map { Row(start: $0.start, end: $0.end, routeCount: $0.routeCount, values: $0.values) },
                  events: answer.events, eventsDropped: answer.eventsDropped, nodeID: answer.nodeID)
    }
}
