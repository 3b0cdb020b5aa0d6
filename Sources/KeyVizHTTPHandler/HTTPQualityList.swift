/// Parses HTTP list headers with quality values (`Accept`, `Accept-Encoding`):
/// `token;param=value;q=0.5, other`. Shared by format negotiation and gzip negotiation.
package enum HTTPQualityList {
    package struct Entry: Sendable, Equatable {
        /// The token (media type or coding), lowercased.
        package var token: String
        /// Parameters other than `q`, names lowercased, values as written.
        package var parameters: [String: String]
        /// The quality, 1 when absent, 0 when unparsable.
        package var q: Double
    }

    package static func parse(_ header: String) -> [Entry] {
        var entries: [Entry] = []
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingSpaces() }
            guard let token = fields.first?.lowercased(), !token.isEmpty else { continue }
            var entry = Entry(token: token, parameters: [:], q: 1)
            for f in fields.dropFirst() {
                let kv = f.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
                guard kv.count == 2 else { continue }
                let name = kv[0].lowercased()
                if name == "q" { entry.q = Double(kv[1]) ?? 0 } else { entry.parameters[name] = kv[1] }
            }
            entries.append(entry)
        }
        return entries
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
