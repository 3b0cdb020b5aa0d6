import KeyViz
import KeyVizHTTPHandler

extension MatrixAnswer {
    /// A node answer with no columns: a Prometheus view then picks its default time range.
    static let noColumns = MatrixAnswer(matrix: HeatMatrix(series: .writes, columnUnixMs: [], rows: [], unrouted: []),
                                        generatedAt: "", stepMs: 1000)
}
