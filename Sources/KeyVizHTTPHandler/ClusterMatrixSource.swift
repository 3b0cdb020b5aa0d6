/// What answers `GET /api/v1/keyviz/matrix?scope=cluster`: given the request's query and this
/// node's own matrix body (all rows, same series, time and key range), the merged cluster
/// body. Injected so the handler stays transport-neutral: the fan-out to peers (sockets,
/// timeouts) lives in `KeyVizCluster` or a host's own implementation.
///
/// It blocks its caller until the answer is merged (at most the source's peer timeout); the
/// handler's async entry point calls it from a thread of its own, never from the caller's.
public protocol ClusterMatrixSource: Sendable {
    func clusterMatrix(query: [String: String], localBody: [UInt8]) -> [UInt8]
}
