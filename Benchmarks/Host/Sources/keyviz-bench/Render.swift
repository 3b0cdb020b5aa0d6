import Dispatch
import KeyViz
import KeyVizPrometheus
import KeyVizTestKit
import Prometheus

/// One render measurement: KeyViz's `/metrics` render (fold included) or the peer's `emit`.
/// `prepare` runs untimed before each `render` (it touches the routes or counters); `render`
/// returns the body, whose non-comment lines are the series rendered.
struct RenderCase {
    let id: String
    let buckets: Int
    let touched: Int
    let prepare: () -> Void
    let render: () -> [UInt8]
}

enum Render {
    /// Non-empty lines that are not comments: the series in a text exposition.
    static func seriesCount(_ body: [UInt8]) -> Int {
        var count = 0
        var lineStart = true
        var comment = false
        var empty = true
        for b in body {
            if lineStart { comment = b == UInt8(ascii: "#"); empty = true; lineStart = false }
            if b == UInt8(ascii: "\n") {
                if !comment && !empty { count += 1 }
                lineStart = true
            } else {
                empty = false
            }
        }
        if !lineStart && !comment && !empty { count += 1 }
        return count
    }

    /// The chain a host runs, `PrometheusSampler<HeatMatrixSampler>` over `routes` routes with
    /// `buckets` buckets; before each render every `stride`-th route is observed once.
    static func keyviz(routes: Int, buckets: Int, stride: Int) -> RenderCase {
        let chain = PrometheusSampler(wrapping: HeatMatrixSampler(configuration: .init(historyColumns: 1)),
                                      configuration: .init(bucketBudget: buckets, processMetrics: false))
        let catalog = RouteCatalog.evenlySplit(count: routes, groups: 8)
        chain.apply(catalog)
        let ids = Swift.stride(from: 0, to: routes, by: stride).map { catalog.routes[$0].id }
        _ = chain.render(format: .prometheusText)   // the layout is built once, as after start-up
        return RenderCase(id: "keyviz", buckets: buckets, touched: ids.count,
                          prepare: { for id in ids { chain.observe(route: id, op: .write, keyLength: 16, valueLength: 64) } },
                          render: { chain.render(format: .prometheusText) })
    }

    /// swift-prometheus 2.4.1 with `series` counters of one family, each incremented before an emit.
    static func peer(series: Int, buckets: Int) -> RenderCase {
        let registry = PrometheusCollectorRegistry()
        let name = PeerDescriptor("bucket_writes")
        let counters = (0..<series).map { registry.makeCounter(descriptor: name.descriptor, labels: [("bucket", "key/\($0)")]) }
        var buffer: [UInt8] = []
        return RenderCase(id: "swift-prometheus", buckets: buckets, touched: series,
                          prepare: { for c in counters { c.increment() } },
                          render: {
                              buffer.removeAll(keepingCapacity: true)
                              registry.emit(into: &buffer)
                              return buffer
                          })
    }

    /// Per bucket budget: KeyViz with every route touched, with 1% touched, and the peer with
    /// as many series as KeyViz rendered; alternated within each repetition. JSON on stdout.
    static func run(routes: Int, buckets: [Int], reps: Int) {
        var out: [String] = []
        for b in buckets {
            var cases = [keyviz(routes: routes, buckets: b, stride: 1), keyviz(routes: routes, buckets: b, stride: 100)]
            cases[0].prepare()
            let series = seriesCount(cases[0].render())
            cases.append(peer(series: series, buckets: b))
            var times = [[Double]](repeating: [], count: cases.count)
            var counts = [Set<Int>](repeating: [], count: cases.count)
            for rep in 0..<(reps + 1) {   // repetition 0 warms up and is dropped
                for k in 0..<cases.count {
                    let i = (k + rep) % cases.count
                    cases[i].prepare()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let body = cases[i].render()
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    counts[i].insert(seriesCount(body))
                    if rep > 0 { times[i].append(Double(t1 - t0)) }
                }
            }
            for (i, c) in cases.enumerated() {
                out.append("{\"id\": \"\(c.id)\", \"routes\": \(c.id == "keyviz" ? routes : 0), \"buckets\": \(b), "
                    + "\"touched\": \(c.touched), \"series\": \(counts[i].sorted()), \"ns\": \(times[i])}")
            }
        }
        print("{\"render\": [\n" + out.joined(separator: ",\n") + "\n]}")
    }
}
