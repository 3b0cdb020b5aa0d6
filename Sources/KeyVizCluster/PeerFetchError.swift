/// Why a peer gave no answer, in words for the `nodes[].error` field.
public struct PeerFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
