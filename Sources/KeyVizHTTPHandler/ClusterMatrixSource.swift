/// What answers `GET /api/v1/keyviz/matrix?scope=cluster`: given the request's query and this
/// node's own matrix body (all rows, same series, time and key range), the merged cluster
/// body. Injected so the handler stays transport-neutral: the fan-out to peers (sockets,
/// timeouts) lives in `KeyVizCluster` or a host's own implementation.
///
/// It suspends until the answer is merged (at most the source's peer timeout) and must not
/// block the thread it is called on: the handler awaits it on the caller's executor.
public protocol ClusterMatrixSource: Sendable {
    func clusterMatrix(query: [String: String], localBody: [UInt8]) async -> [UInt8]
}
