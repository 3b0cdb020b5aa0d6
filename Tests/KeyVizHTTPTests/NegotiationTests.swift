import KeyVizHTTPHandler
import KeyVizPrometheus
import Testing

@Suite struct NegotiationTests {
    @Test func prometheusAcceptHeadersGetOpenMetricsAndCurlGetsText() {
        let legacy = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        let modern = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        #expect(ExpositionFormat.negotiate(accept: legacy) == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: modern) == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: "*/*") == .prometheusText)
        #expect(ExpositionFormat.negotiate(accept: nil) == .prometheusText)
        #expect(ExpositionFormat.negotiate(accept: "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5") == .prometheusText)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text; version=0.0.1") == .prometheusText)
        #expect(ExpositionFormat.negotiate(accept: "garbage;;;,") == .prometheusText)
    }
}
