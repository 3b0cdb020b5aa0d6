#if Vapor  // the package's Vapor trait: without it this module is empty
public import KeyVizHTTPHandler
public import Vapor

/// Mounts KeyViz's transport-neutral handler on a Vapor 4 application (or any route group):
/// every ``KeyVizEndpoint`` at its path, GET and HEAD — `/metrics`, the matrix, hot-keys and
/// split-advice APIs, `/healthz` — and the heat map page at `pagePath` (KeyViz serves it at `/`;
/// a host usually owns `/`).
///
/// Requests go through the handler's async entry point: a scrape waiting for a shared render
/// suspends, and a cluster view's fan-out runs on a thread of its own, so no event loop waits.
/// Authentication is the host's: put Vapor middleware in front (a route group with it).
extension RoutesBuilder {
    public func addKeyViz(_ handler: KeyVizHTTPHandler, pagePath: String = "/keyviz") {
        for endpoint in KeyVizEndpoint.allCases {
            let path = endpoint.path, mounted = endpoint == .page ? pagePath : path
            let components = mounted.split(separator: "/").map { PathComponent.constant(String($0)) }
            for method in KeyVizEndpoint.methods {
                // No endpoint takes a body: the handler answers one with 413, so none is collected.
                on(HTTPMethod(rawValue: method), components, body: .stream) { request async -> Response in
                    let answer = await handler.handle(KeyVizVaporConversion.keyVizRequest(request, path: path))
                    return KeyVizVaporConversion.vaporResponse(answer)
                }
            }
        }
    }
}
#endif
