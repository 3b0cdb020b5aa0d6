import KeyVizPrometheus

/// swift-metrics labels and dimensions spelled as Prometheus names: any character outside
/// `[a-zA-Z0-9_:]` becomes `_`, a leading digit gets a `_` in front.
enum MetricName {
    static func plain(_ label: String) -> String {
        var s = String(label.map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == ":") ? c : "_"
        })
        if s.isEmpty || s.first!.isNumber { s = "_" + s }
        return s
    }

    static func counter(_ label: String) -> String {
        let s = plain(label)
        return s.hasSuffix("_total") ? s : s + "_total"
    }

    /// Dimensions as labels: names sanitised (no `:`, no leading `__`), sorted, later duplicates
    /// dropped.
    static func labels(_ dimensions: [(String, String)]) -> [(name: String, value: String)] {
        var seen = Set<String>()
        var out: [(name: String, value: String)] = []
        for (k, v) in dimensions {
            var name = plain(k).replacingColons()
            while name.hasPrefix("__") { name.removeFirst() }
            if name == "le" || name == "quantile" { name = "_" + name }   // reserved by histograms
            guard MetricNames.isValidLabelName(name), seen.insert(name).inserted else { continue }
            out.append((name, v))
        }
        return out.sorted { $0.name < $1.name }
    }
}

private extension String {
    func replacingColons() -> String { String(map { $0 == ":" ? "_" : $0 }) }
}
