import KeyViz

/// Spells the `bucket` label (and the info series' key previews) from key bytes.
///
/// The spelling is `KeyPreview`'s, the one the matrix API and the Prometheus view use, at most
/// 32 characters, derived from the start key (and the layout seed) alone so that a label means
/// the same key range on every node and across layout changes:
/// - the empty key (the start of the key space) is `(begin)`;
/// - a key of at most 32 bytes of printable ASCII without `~`, not starting with `(` or `0x`,
///   is itself; any other key of at most 15 bytes is `0x` + lowercase hex;
/// - a longer key keeps its first 23 characters (as text when those bytes qualify as above,
///   else as `0x` + hex) and appends `~` and 8 hex digits of the key's layout hash.
/// Only the first 32 bytes are read and the hash is the one the layout already computed, so
/// a preview costs O(preview length), not O(key length) (a 1 MB key is hashed once per catalog
/// change, never per scrape). Untruncated spellings are injective; truncated ones carry `~`
/// (which no untruncated spelling has) and can collide only when their hashes do, which
/// ``BucketCounters`` resolves so that a label never names two start keys.
enum BucketLabeler {
    static let maxLength = 32

    static func label(forStart key: [UInt8], mode: BucketLabelMode) -> String {
        label(forStart: key, hash: KeyHash.hash(key), mode: mode)
    }

    static func label(forStart key: [UInt8], hash: UInt64, mode: BucketLabelMode) -> String {
        switch mode {
        case .hashed: hex64(hash)
        case .keyPreview: preview(key, hash: hash, maxLength: maxLength, hashDigits: 8)
        }
    }

    /// A readable key spelling for info series (longer limit), `(begin)` for the empty key.
    static func infoPreview(_ key: [UInt8]) -> String {
        infoPreview(key, hash: needsHash(key, maxLength: 64) ? KeyHash.hash(key) : 0)
    }

    static func infoPreview(_ key: [UInt8], hash: UInt64) -> String {
        preview(key, hash: hash, maxLength: 64, hashDigits: 8)
    }

    /// The `key` label of a key-naming info series (hot keys, split advice): the info preview,
    /// or in ``BucketLabelMode/hashed`` mode 16 hex digits of its hash, so key bytes never
    /// reach Prometheus. One rule for every such series.
    static func keyLabel(_ key: [UInt8], mode: BucketLabelMode) -> String {
        mode == .hashed ? hex64(KeyHash.hash(key)) : infoPreview(key)
    }

    /// Whether the spelling of `key` is truncated (and so carries its hash).
    static func needsHash(_ key: [UInt8], maxLength: Int) -> Bool {
        KeyPreview.isTruncated(key, maxLength: maxLength)
    }

    /// The one key spelling (`KeyPreview`), with the layout's hash.
    static func preview(_ key: [UInt8], hash: UInt64, maxLength: Int, hashDigits: Int) -> String {
        KeyPreview.spell(key, fullCount: key.count, maxLength: maxLength, hashDigits: hashDigits) { hash }
    }

    /// Labels for bucket start keys given in key order, unique within one layout: a collision
    /// (possible only between truncated spellings) is respelled with a 16-digit hash, then an
    /// ordinal. The decorator itself assigns labels through ``BucketCounters`` instead, which
    /// also remembers labels across layouts.
    static func uniqueLabels(_ starts: [[UInt8]], mode: BucketLabelMode) -> [String] {
        uniqueLabels(starts, hashes: starts.map { KeyHash.hash($0) }, mode: mode)
    }

    static func uniqueLabels(_ starts: [[UInt8]], hashes: [UInt64], mode: BucketLabelMode) -> [String] {
        var labels = starts.indices.map { label(forStart: starts[$0], hash: hashes[$0], mode: mode) }
        var seen: Set<String> = []
        for i in labels.indices {
            if seen.contains(labels[i]) {
                var candidate = alternative(starts[i], hash: hashes[i], label: labels[i], mode: mode, attempt: 1)
                var n = 2
                while seen.contains(candidate) {
                    candidate = alternative(starts[i], hash: hashes[i], label: labels[i], mode: mode, attempt: n)
                    n += 1
                }
                labels[i] = candidate
            }
            seen.insert(labels[i])
        }
        return labels
    }

    /// The `attempt`-th respelling of a colliding label: 1 = a 16-digit hash, then ordinals.
    static func alternative(_ key: [UInt8], hash: UInt64, label: String, mode: BucketLabelMode, attempt: Int) -> String {
        if attempt == 1 && mode == .keyPreview { return preview(key, hash: hash, maxLength: maxLength, hashDigits: 16) }
        return String(label.prefix(maxLength - 4)) + "~\(attempt)"
    }

    static func hex64(_ v: UInt64) -> String { KeyPreview.hex64(v) }
}
