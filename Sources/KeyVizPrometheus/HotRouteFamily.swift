import KeyViz

/// One (op, rank) of the hot-route families: what each of the four says about it.
struct HotRouteRow {
    var op: Op
    var rank: Int
    var rate: Double
    var share: Double
    /// The route's id, or -1 when no route holds the rank.
    var id: Double
    /// The bucket holding the route ("" when none or unknown).
    var bucket: String
}

/// The four hot-route gauge families, written straight from their rows.
///
/// Built as `MetricFamily` values they cost more than the 256 bucket counters together: a label
/// array or two, a sample and their strings per line, about 130 allocations per render at the
/// default of 5 ranks per op. Written here, a line is the family's name, two or three labels and
/// a value. Debug builds check every write against ``ExpositionWriter`` encoding ``family(_:)``.
enum HotRouteFamily: CaseIterable {
    case opsPerSecond, share, id, info

    var name: String {
        switch self {
        case .opsPerSecond: "keyviz_hot_route_ops_per_second"
        case .share: "keyviz_hot_route_share"
        case .id: "keyviz_hot_route_id"
        case .info: "keyviz_hot_route_info"
        }
    }

    var help: String {
        switch self {
        case .opsPerSecond: RenderState.Help.hotRate
        case .share: RenderState.Help.hotShare
        case .id: RenderState.Help.hotID
        case .info: RenderState.Help.hotInfo
        }
    }

    private func value(_ row: HotRouteRow) -> MetricValue {
        switch self {
        case .opsPerSecond: .double(row.rate)
        case .share: .double(row.share)
        case .id: .double(row.id)
        case .info: .integer(1)
        }
    }

    /// The family's header and one line per row: `name{op="…",rank="…"} value`, and for
    /// `info` a `bucket` label after them.
    func write(_ rows: [HotRouteRow], format: ExpositionFormat, to out: inout [UInt8]) {
        let start = out.count
        ExpositionWriter.appendHeader(MetricFamily(unchecked: name, help: help, type: .gauge, samples: []), format: format, to: &out)
        for row in rows {
            ExpositionWriter.appendUTF8(name, to: &out)
            ExpositionWriter.appendUTF8(#"{op=""#, to: &out)
            ExpositionWriter.appendUTF8(row.op.description, to: &out)
            ExpositionWriter.appendUTF8(#"",rank=""#, to: &out)
            ExpositionWriter.appendDecimal(UInt64(row.rank), to: &out)
            if self == .info {
                ExpositionWriter.appendUTF8(#"",bucket=""#, to: &out)
                ExpositionWriter.appendEscapedLabelValue(row.bucket, to: &out)
            }
            ExpositionWriter.appendUTF8(#""} "#, to: &out)
            value(row).write(to: &out)
            out.append(UInt8(ascii: "\n"))
        }
        assert({
            var reference: [UInt8] = []
            ExpositionWriter.encode([family(rows)], format: format, into: &reference, terminate: false)
            return out[start...].elementsEqual(reference)
        }(), "a hot-route family's lines differ from the encoder's")
    }

    /// The same family as a `MetricFamily`: the reference the debug check encodes.
    func family(_ rows: [HotRouteRow]) -> MetricFamily {
        MetricFamily(unchecked: name, help: help, type: .gauge, samples: rows.map { row in
            var labels: [(name: String, value: String)] = [("op", row.op.description), ("rank", String(row.rank))]
            if self == .info { labels.append(("bucket", row.bucket)) }
            return MetricSample(labels: labels, value: value(row))
        })
    }
}
