import KeyVizCluster
import Testing

@Suite struct PeerAddressTests {
    @Test func listsParseAndBadEntriesSayWhatIsWrong() throws {
        let peers = try PeerAddress.parseList("127.0.0.1:9478, node-b.local:80,[::1]:9479")
        #expect(peers.map(\.description) == ["127.0.0.1:9478", "node-b.local:80", "[::1]:9479"])
        for (bad, reason) in [("127.0.0.1", "no port"), ("http://127.0.0.1:9477", "without a scheme"), ("h:0", "port must be"), ("h:70000", "port must be"), (":9", "empty host"),
                              ("a:1,,b:2", "empty entry"), ("a:1,a:1", "listed twice"), ("::1:9", "IPv6"), ("a b:1", "characters"),
                              ("", "empty entry")] {
            #expect(throws: PeerAddressError.self, "\(bad)") { try PeerAddress.parseList(bad) }
            do { _ = try PeerAddress.parseList(bad) } catch { #expect(error.description.contains(reason), "\(bad): \(error)") }
        }
    }
}
