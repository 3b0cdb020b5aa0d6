/// A complete response: status, headers and body.
public struct KeyVizHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    static func text(_ status: Int, _ text: String, extra: [(name: String, value: String)] = []) -> KeyVizHTTPResponse {
        KeyVizHTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + extra, body: Array((text + "\n").utf8))
    }

    static func json(_ status: Int, _ body: [UInt8]) -> KeyVizHTTPResponse {
        KeyVizHTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")], body: body)
    }
}
