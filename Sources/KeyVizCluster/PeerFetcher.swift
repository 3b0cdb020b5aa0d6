/// Fetches a path from a peer over HTTP: the cluster view's transport, injected so tests and
/// hosts can supply their own (`HTTPPeerFetcher` is the built-in one).
public protocol PeerFetcher: Sendable {
    /// `GET path` from `peer`, finished within `timeout` in total and with a body of at most
    /// `maxBodyBytes`; otherwise an error that says which limit was hit. It suspends while it
    /// waits and must not block the calling thread (the cluster view calls it from the
    /// handler's task).
    func get(_ peer: PeerAddress, path: String, timeout: Duration, maxBodyBytes: Int) async -> Result<PeerResponse, PeerFetchError>
}
