/// The HTTP handler's first name: "router" read as a key-range route in a codebase of routes.
@available(*, deprecated, renamed: "KeyVizHTTPHandler")
public typealias KeyVizRouter = KeyVizHTTPHandler
