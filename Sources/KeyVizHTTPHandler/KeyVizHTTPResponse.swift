/// A complete response: status, headers and body.
public struct KeyVizHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whether a transport may compress the body (a content coding the client accepts):
    /// content coding is the transport's job (the embedded server gzips; a Hummingbird host
    /// uses its own middleware), the handler only says which bodies are worth it.
    public var compressible: Bool

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], compressible: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.compressible = compressible
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    package static func text(_ status: Int, _ text: String, extra: [(name: String, value: String)] = []) -> KeyVizHTTPResponse {
        KeyVizHTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + extra, body: Array((text + "\n").utf8))
    }

    package static func json(_ status: Int, _ body: [UInt8]) -> KeyVizHTTPResponse {
        KeyVizHTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")],
                           body: body, compressible: status == 200)
    }
}
