/// The label matchers that scope the Prometheus view to one store, such as `{job="kv"}`.
///
/// Why it is required: a Prometheus often scrapes more than one KeyViz store, and a query
/// without matchers sums every store's buckets into one heatmap (totals of two stores, rows of
/// both). `{}` says "every store" explicitly. Parsed and checked once, at start, so a typo is a
/// clear error there rather than an empty view later; written back in one canonical spelling.
public struct PrometheusSelector: Sendable, Equatable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case matches = "=~"
        case doesNotMatch = "!~"
    }

    public struct Matcher: Sendable, Equatable {
        public var label: String
        public var op: Operator
        public var value: String

        public init(label: String, op: Operator, value: String) {
            self.label = label
            self.op = op
            self.value = value
        }
    }

    public let matchers: [Matcher]

    /// Every store: no matchers (say so on purpose; the view then sums every job).
    public static let everything = PrometheusSelector(checked: [])

    private init(checked: [Matcher]) { matchers = checked }

    /// Matchers in PromQL's spelling: `{label="value", other=~"re.*"}`; values double-quoted
    /// with `\"`, `\\`, `\n` and `\t` escapes.
    public init(parsing text: String) throws(PrometheusSelectorError) {
        var s = Substring(text)
        func error(_ why: String) -> PrometheusSelectorError { PrometheusSelectorError(text: text, reason: why) }
        func skipSpace() { while let c = s.first, c == " " || c == "\t" { s.removeFirst() } }
        skipSpace()
        guard s.first == "{" else { throw error("want label matchers in braces, e.g. {job=\"keyviz\"}") }
        s.removeFirst()
        var out: [Matcher] = []
        skipSpace()
        if s.first == "}" { s.removeFirst() } else {
            while true {
                skipSpace()
                let name = s.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                guard let first = name.first, !first.isNumber else { throw error("want a label name ([a-zA-Z_][a-zA-Z0-9_]*)") }
                s.removeFirst(name.count)
                skipSpace()
                guard let op = [Operator.matches, .doesNotMatch, .notEqual, .equal].first(where: { s.hasPrefix($0.rawValue) }) else {
                    throw error("after \(name), want =, !=, =~ or !~")
                }
                s.removeFirst(op.rawValue.count)
                skipSpace()
                guard s.first == "\"" else { throw error("the value of \(name) must be double-quoted") }
                s.removeFirst()
                var value = ""
                while true {
                    guard let c = s.first else { throw error("the value of \(name) is not closed") }
                    s.removeFirst()
                    if c == "\"" { break }
                    if c == "\\" {
                        guard let e = s.first else { throw error("the value of \(name) is not closed") }
                        s.removeFirst()
                        switch e {
                        case "\"", "\\": value.append(e)
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        default: throw error("unknown escape \\\(e) in the value of \(name)")
                        }
                    } else {
                        value.append(c)
                    }
                }
                out.append(Matcher(label: String(name), op: op, value: value))
                skipSpace()
                if s.first == "," { s.removeFirst(); skipSpace(); if s.first == "}" { s.removeFirst(); break }; continue }
                guard s.first == "}" else { throw error("want , or } after the value of \(name)") }
                s.removeFirst()
                break
            }
        }
        skipSpace()
        guard s.isEmpty else { throw error("text after the closing }") }
        self.init(checked: out)
    }

    /// The canonical spelling, `{job="kv",instance=~"a.*"}`: what the queries carry.
    public var description: String {
        "{" + matchers.map { m in
            var v = ""
            for c in m.value {
                switch c {
                case "\"": v += "\\\""
                case "\\": v += "\\\\"
                case "\n": v += "\\n"
                case "\t": v += "\\t"
                default: v.append(c)
                }
            }
            return m.label + m.op.rawValue + "\"" + v + "\""
        }.joined(separator: ",") + "}"
    }

    /// `metric` with these matchers: the vector selector the view's queries use.
    public func selecting(_ metric: String) -> String { metric + description }
}

/// Why a selector text is not label matchers.
public struct PrometheusSelectorError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "bad Prometheus selector '\(text)': \(reason)" }
}
