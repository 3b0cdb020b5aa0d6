#if Vapor
import KeyVizHTTPHandler
import Vapor

/// Requests and responses between Vapor's types and KeyViz's own: only the headers and query
/// parameters the handler reads are copied.
enum KeyVizVaporConversion {
    static func keyVizRequest(_ request: Request, path: String) -> KeyVizHTTPRequest {
        var headers: [String: String] = [:]
        for name in KeyVizHTTPRequest.readHeaders {
            if let value = request.headers.first(name: name) { headers[name] = value }
        }
        var query: [String: String] = [:]
        for name in KeyVizHTTPRequest.readQuery {
            if let value = request.query[String.self, at: name] { query[name] = value }
        }
        return KeyVizHTTPRequest(method: request.method.rawValue, path: path, headers: headers, query: query)
    }

    static func vaporResponse(_ answer: KeyVizHTTPResponse) -> Response {
        var headers = HTTPHeaders()
        for (name, value) in answer.headers { headers.add(name: name, value: value) }
        return Response(status: HTTPResponseStatus(statusCode: answer.status), headers: headers,
                        body: .init(buffer: ByteBuffer(bytes: answer.body)))
    }
}
#endif
