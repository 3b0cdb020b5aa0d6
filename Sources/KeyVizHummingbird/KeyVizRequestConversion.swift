#if Hummingbird
import HTTPTypes
import Hummingbird
import KeyVizHTTPHandler

/// Requests and responses between Hummingbird's (swift-http-types) and KeyViz's own types.
enum KeyVizRequestConversion {
    static func keyVizRequest(_ request: Request, path: String) -> KeyVizHTTPRequest {
        var headers: [String: String] = [:]
        for name in KeyVizHTTPRequest.readHeaders {
            if let field = HTTPField.Name(name), let value = request.headers[field] { headers[name] = value }
        }
        var query: [String: String] = [:]
        let parameters = request.uri.queryParameters
        for name in KeyVizHTTPRequest.readQuery {
            if let value = parameters[Substring(name)] { query[name] = String(value) }
        }
        return KeyVizHTTPRequest(method: request.method.rawValue, path: path, headers: headers, query: query)
    }

    static func hummingbirdResponse(_ answer: KeyVizHTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return Response(status: .init(code: answer.status), headers: fields,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
#endif
