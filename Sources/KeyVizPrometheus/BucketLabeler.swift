import KeyViz

/// Spells the `bucket` label (and the info series' key previews) from key bytes.
///
/// Preview rule, at most 32 characters, derived from the start key alone so that a label means
/// the same key range on every node and across layout changes:
/// - the empty key (the start of the key space) is `(begin)`;
/// - a key of printable ASCII without `~`, not starting with `(` or `0x`, is itself;
/// - any other key is `0x` + lowercase hex;
/// - a spelling longer than 32 characters keeps its first 23 and appends `~` and 8 hex digits
///   of the key's hash.
/// Two different keys spell differently, except truncated spellings whose 32-bit hashes
/// collide; those are made unique in key order with longer hashes (see ``uniqueLabels(_:)``).
enum BucketLabeler {
    static let maxLength = 32

    static func label(forStart key: [UInt8], mode: BucketLabelMode) -> String {
        switch mode {
        case .hashed: hex64(KeyHash.hash(key))
        case .keyPreview: preview(key, maxLength: maxLength, hashDigits: 8)
        }
    }

    /// A readable key spelling for info series (longer limit), `(begin)` for the empty key.
    static func infoPreview(_ key: [UInt8]) -> String {
        preview(key, maxLength: 64, hashDigits: 8)
    }

    static func preview(_ key: [UInt8], maxLength: Int, hashDigits: Int) -> String {
        if key.isEmpty { return "(begin)" }
        let raw = key.allSatisfy { $0 >= 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "~") }
            && key.first != UInt8(ascii: "(")
            && !(key.count >= 2 && key[0] == UInt8(ascii: "0") && key[1] == UInt8(ascii: "x"))
        let full = raw ? String(decoding: key, as: UTF8.self) : "0x" + KeyPreview.hex(key)
        guard full.utf8.count > maxLength else { return full }
        let keep = maxLength - 1 - hashDigits
        let digits = String(hex64(KeyHash.hash(key)).prefix(hashDigits))
        return String(full.prefix(keep)) + "~" + digits
    }

    /// Labels for bucket start keys given in key order, unique: a collision (possible only
    /// between truncated spellings) is respelled with a 16-digit hash, then an ordinal.
    static func uniqueLabels(_ starts: [[UInt8]], mode: BucketLabelMode) -> [String] {
        var labels = starts.map { label(forStart: $0, mode: mode) }
        var seen: [String: Int] = [:]
        for i in labels.indices {
            if seen[labels[i]] != nil {
                var candidate = mode == .keyPreview ? preview(starts[i], maxLength: maxLength, hashDigits: 16) : labels[i]
                var n = 2
                while seen[candidate] != nil {
                    candidate = String(labels[i].prefix(maxLength - 4)) + "~\(n)"
                    n += 1
                }
                labels[i] = candidate
            }
            seen[labels[i]] = i
        }
        return labels
    }

    static func hex64(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
