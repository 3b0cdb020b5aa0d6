/// What answers `GET /api/v1/keyviz/hot-keys?scope=cluster`: given the request's query and this
/// node's own hot-keys body, the cluster's hot keys (the peers' sketches merged). A
/// `KeyVizCluster.ClusterView` is one; a cluster source that is not answers 400 there.
///
/// Like ``ClusterMatrixSource`` it suspends, never blocks, while the peers answer.
public protocol ClusterHotKeysSource: Sendable {
    func clusterHotKeys(query: [String: String], localBody: [UInt8]) async -> [UInt8]
}
