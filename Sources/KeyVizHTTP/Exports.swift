// The server serves the transport-neutral handler: a host that imports KeyVizHTTP gets the
// handler's types (KeyVizHTTPHandler, KeyVizHTTPRequest, KeyVizHTTPResponse) with it.
@_exported import KeyVizHTTPHandler
