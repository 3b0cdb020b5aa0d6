/// Encodes metric families as Prometheus text 0.0.4 or OpenMetrics 1.0, byte by byte.
///
/// Rules followed exactly (see docs/metrics.md): families sorted by name, one HELP and one TYPE
/// each, all samples of a family together; label values escape `\\`, `\"` and `\n`; HELP
/// escapes `\\` and `\n` (OpenMetrics also `\"`); OpenMetrics counters are typed without
/// `_total`, samples keep it, and the body ends with `# EOF`; every line ends with `\n`.
public enum ExpositionWriter {
    /// Renders `families` (in sorted name order) into a new buffer.
    public static func encode(_ families: [MetricFamily], format: ExpositionFormat) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.reduce(0) { $0 + 96 + $1.samples.count * 64 })
        encode(families, format: format, into: &out)
        return out
    }

    public static func encode(_ families: [MetricFamily], format: ExpositionFormat, into out: inout [UInt8]) {
        encode(families, format: format, into: &out, terminate: true)
    }

    static func encode(_ families: [MetricFamily], format: ExpositionFormat, into out: inout [UInt8], terminate: Bool) {
        let sorted = families.sorted { $0.name < $1.name }
        for family in sorted {
            appendHeader(family, format: format, to: &out)
            for sample in family.samples {
                appendSampleName(family.name, suffix: sample.suffix, to: &out)
                appendLabels(sample.labels, to: &out)
                out.append(UInt8(ascii: " "))
                sample.value.write(to: &out)
                out.append(UInt8(ascii: "\n"))
            }
        }
        if terminate && format == .openMetrics { out.append(contentsOf: "# EOF\n".utf8) }
    }

    /// HELP and TYPE lines of a family.
    static func appendHeader(_ family: MetricFamily, format: ExpositionFormat, to out: inout [UInt8]) {
        let metadataName: Substring
        if format == .openMetrics && family.type == .counter && family.name.hasSuffix("_total") {
            metadataName = family.name.dropLast(6)
        } else {
            metadataName = family.name[...]
        }
        if format == .openMetrics {
            appendType(metadataName, family.type, to: &out)
            appendHelp(metadataName, family.help, format: format, to: &out)
        } else {
            appendHelp(metadataName, family.help, format: format, to: &out)
            appendType(metadataName, family.type, to: &out)
        }
    }

    private static func appendType(_ name: Substring, _ type: MetricType, to out: inout [UInt8]) {
        appendUTF8("# TYPE ", to: &out)
        appendUTF8(name, to: &out)
        out.append(UInt8(ascii: " "))
        appendUTF8(type.rawValue, to: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// No HELP line at all for an empty help text (both formats allow leaving it out; a
    /// `# HELP name ` with nothing after the space is what some parsers trip on).
    private static func appendHelp(_ name: Substring, _ help: String, format: ExpositionFormat, to out: inout [UInt8]) {
        guard !help.isEmpty else { return }
        appendUTF8("# HELP ", to: &out)
        appendUTF8(name, to: &out)
        out.append(UInt8(ascii: " "))
        // Most help texts need no escaping: one copy instead of a byte at a time.
        if !Self.needsEscaping(help) {
            appendUTF8(help, to: &out)
            out.append(UInt8(ascii: "\n"))
            return
        }
        for c in help.utf8 {
            switch c {
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\"") where format == .openMetrics: out.append(contentsOf: #"\""#.utf8)
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\n"))
    }

    /// Appends a string's bytes in one copy (appending `.utf8` itself goes a byte at a time).
    @inline(__always)
    static func appendUTF8(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    @inline(__always)
    static func appendUTF8(_ text: Substring, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Whether `text` holds a backslash, a newline or a double quote (a pointer scan of the
    /// string's bytes; the generic `contains(where:)` cost several times more per byte).
    static func needsEscaping(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for c in bytes where c == UInt8(ascii: "\\") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\"") { return true }
            return false
        }
    }

    @inline(__always)
    static func appendSampleName(_ name: String, suffix: String, to out: inout [UInt8]) {
        appendUTF8(name, to: &out)
        if !suffix.isEmpty { appendUTF8(suffix, to: &out) }
    }

    /// `{a="x",b="y"}`, or nothing for no labels.
    static func appendLabels(_ labels: [(name: String, value: String)], to out: inout [UInt8]) {
        guard !labels.isEmpty else { return }
        out.append(UInt8(ascii: "{"))
        for (i, l) in labels.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendUTF8(l.name, to: &out)
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "\""))
            appendEscapedLabelValue(l.value, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Escapes `\`, `"` and newline, the three characters both formats require.
    public static func appendEscapedLabelValue(_ value: String, to out: inout [UInt8]) {
        if !needsEscaping(value) {
            appendUTF8(value, to: &out)
            return
        }
        for c in value.utf8 {
            switch c {
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            default: out.append(c)
            }
        }
    }

    /// Plain decimal digits of an unsigned integer (written by `writeDecimal(_:to:)` into
    /// scratch, then appended).
    @inline(__always)
    public static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes of scratch, enough for 20 digits
        withUnsafeMutableBytes(of: &digits) { buf in
            let p = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
            out.append(contentsOf: UnsafeBufferPointer(start: p, count: writeDecimal(value, to: p)))
        }
    }

    /// Writes the plain decimal digits of `value` at `p` (room for 20 bytes) and returns how
    /// many it wrote: for renders that write through a pointer.
    @inline(__always)
    static func writeDecimal(_ value: UInt64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 1
        var v = value
        while v >= 10 { v /= 10; n += 1 }
        v = value
        var i = n
        repeat {
            i -= 1
            p[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        } while i > 0
        return n
    }

    /// Canonical spelling of a double (see ``MetricValue``).
    public static func appendDouble(_ d: Double, to out: inout [UInt8]) {
        if d.isNaN {
            out.append(contentsOf: "NaN".utf8)
        } else if d.isInfinite {
            out.append(contentsOf: (d > 0 ? "+Inf" : "-Inf").utf8)
        } else if d == d.rounded(), abs(d) <= 9_007_199_254_740_992 {
            if d < 0 { out.append(UInt8(ascii: "-")) }
            appendDecimal(UInt64(abs(d)), to: &out)
        } else {
            out.append(contentsOf: d.description.utf8)
        }
    }

    /// A histogram bucket bound as a label value: canonical float (`0.005`, `1.0`, `+Inf`).
    public static func boundLabel(_ d: Double) -> String {
        if d.isInfinite { return d > 0 ? "+Inf" : "-Inf" }
        if d.isNaN { return "NaN" }
        return d.description
    }
}
