#if Demo  // the demo is built with its trait only (Package.swift)
import Foundation
import KeyVizCluster
import KeyVizHTTP
import Logging

/// Builds the HTTP server from the demo's flags: reads the auth file and TLS PEMs, binds.
func makeServer(options: DemoOptions, node: DemoNode, nodeID: String) throws -> MetricsServer {
    let listen = try ListenAddress(parsing: options.listen)
    var auth: BasicAuthUsers?
    if let path = options.basicAuthFile {
        auth = try BasicAuthUsers(fileContents: try readText(path), path: path)
    }
    if (options.tlsCert == nil) != (options.tlsKey == nil) { throw ServerError.tlsNeedsBoth }
    let configuration = MetricsServerConfiguration(
        listen: listen, maxConcurrentScrapes: options.maxScrapes, connectionLimit: options.maxConnections,
        connectionLimitPerClient: options.maxConnectionsPerClient, connectionTimeout: .seconds(options.connectionTimeout), basicAuth: auth,
        tlsCertificatePEM: try options.tlsCert.map(readText), tlsKeyPEM: try options.tlsKey.map(readText))
    // Every demo node answers ?scope=cluster: with no --peers, its own matrix in the cluster shape.
    var credentials: (user: String, password: String)?
    if let path = options.peerCredentialsFile {
        let line = try readText(path).split(separator: "\n").first.map(String.init) ?? ""
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw ServerError.cannotRead(path, "want one 'user:password' line")
        }
        credentials = (String(line[..<colon]), String(line[line.index(after: colon)...]))
    }
    let cluster = try ClusterView(selfName: options.listen, peers: options.peers.isEmpty ? [] : try PeerAddress.parseList(options.peers),
                              fetcher: HTTPPeerFetcher(basicAuth: credentials), timeout: .seconds(options.peerTimeout),
                              maxBodyBytes: options.peerMaxBody, remember: .seconds(options.peerRemember))
    let prometheusView = try options.prometheusURL.map {
        try PrometheusView(url: $0, selector: try PrometheusSelector(parsing: options.prometheusSelector ?? "{}"),
                           stepMs: Int64((options.prometheusStep * 1000).rounded()), fetcher: HTTPPeerFetcher())
    }
    let handler = KeyVizHTTPHandler(metrics: node.prometheus, matrix: node.memSampler, hotKeys: node.hotKeys, cluster: cluster,
                                   prometheus: prometheusView, nodeID: nodeID)
    // swift-log's default handler: the server's warnings (refused connections, rate-limited)
    // go to stderr beside the node's own lines.
    return try MetricsServer(handler: handler, configuration: configuration, logger: Logger(label: "keyviz-demo.http"))
}

private func readText(_ path: String) throws -> String {
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw ServerError.cannotRead(path, (error as NSError).localizedDescription)
    }
}
#endif
