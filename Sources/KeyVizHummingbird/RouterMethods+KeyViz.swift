#if Hummingbird  // the package's Hummingbird trait: without it this module is empty
import HTTPTypes
public import Hummingbird
public import KeyVizHTTPHandler

/// Mounts KeyViz's transport-neutral handler on a Hummingbird router: every ``KeyVizEndpoint``
/// at its path — `/metrics` (KeyViz's families plus whatever collectors the host registered,
/// e.g. its swift-metrics), the matrix and hot-keys APIs, `/healthz` — and the heat map page at
/// `pagePath` (KeyViz serves it at `/`; a host usually owns `/`).
///
/// Requests go through the handler's async entry point: a scrape waiting for a shared render
/// suspends, and a cluster view's fan-out runs on a thread of its own, so nothing blocks an
/// event loop. Authentication is the host's: put Hummingbird middleware in front.
extension RouterMethods {
    @discardableResult
    public func addKeyViz(_ handler: KeyVizHTTPHandler, pagePath: String = "/keyviz") -> Self {
        let respond: @Sendable (Request, String) async -> Response = { request, path in
            let converted = KeyVizRequestConversion.keyVizRequest(request, path: path)
            let answer = await handler.handle(converted)
            return KeyVizRequestConversion.hummingbirdResponse(answer)
        }
        for endpoint in KeyVizEndpoint.allCases {
            let path = endpoint.path, mounted = endpoint == .page ? pagePath : path
            for method in KeyVizEndpoint.methods {
                on(RouterPath(mounted), method: HTTPRequest.Method(method)!) { request, _ in await respond(request, path) }
            }
        }
        return self
    }
}
#endif
