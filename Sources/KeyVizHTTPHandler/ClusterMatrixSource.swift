/// What answers `GET /api/v1/keyviz/matrix?scope=cluster` (or `scope=prometheus`): given the
/// request's query and this node's own matrix answer as a value (all rows, same series, time
/// and key range), the merged answer's JSON body. Injected so the handler stays
/// transport-neutral: the fan-out to peers (sockets, timeouts) lives in `KeyVizCluster` or a
/// host's own implementation.
///
/// It suspends until the answer is merged (at most the source's peer timeout) and must not
/// block the thread it is called on: the handler awaits it on the caller's executor.
public protocol ClusterMatrixSource: Sendable {
    func clusterMatrix(query: [String: String], local: MatrixAnswer) async -> [UInt8]
}
