import KeyViz
import KeyVizHTTPHandler

/// `state-file`: the input is a `--state-dir` file (`MatrixHistoryCodec`), restored into a
/// fresh `HeatMatrixSampler` and served by the matrix API.
///
/// Each input is tried twice: as is (so the header, length and CRC checks are fuzzed), and
/// re-headed: its payload (the input after a 24-byte header when it starts with the magic, with
/// that header's format version; else the whole input, with the current version) behind a
/// header with the right length and CRC-32, so mutations reach the structural decoder instead
/// of stopping at the checksum. Checks: `decode` and the
/// streaming `restore(encoded:)` accept and refuse the same files with the same error, restore
/// the same history and count the same columns and newest stamp; a decoded history re-encodes
/// to itself; and matrix API requests of several shapes (rows, from/to, resolution_ms, a key
/// range, series) answer 200 with a well-formed matrix within the row budget and the sampler's
/// columns.
package enum StateFileTarget {
    static func evaluate(_ input: [UInt8]) async -> FuzzOutcome {
        var o = FuzzOutcome()
        await restoreAndAsk(input, "as is", &o)
        if input.count >= 24 && input.starts(with: MatrixHistoryCodec.magic) {
            let version = input[8..<12].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            await restoreAndAsk(headed(Array(input[24...]), version: version), "re-headed", &o)
        } else {
            await restoreAndAsk(headed(input), "re-headed", &o)
        }
        return o
    }

    /// A 24-byte header as `MatrixHistoryCodec.encode` writes it (format `version`, the
    /// payload's length and CRC-32), then `payload`.
    package static func headed(_ payload: [UInt8], version: UInt32 = MatrixHistoryCodec.version) -> [UInt8] {
        var out = MatrixHistoryCodec.magic
        func le(_ v: UInt64, _ n: Int) { for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        le(UInt64(version), 4)
        le(UInt64(payload.count), 8)
        le(UInt64(crc32(payload)), 4)
        out.append(contentsOf: payload)
        return out
    }

    static let crcTable: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (IEEE, as zlib's `crc32`).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func restoreAndAsk(_ file: [UInt8], _ label: String, _ o: inout FuzzOutcome) async {
        let decoded = Result { () throws(MatrixHistoryCodecError) in try MatrixHistoryCodec.decode(file) }
        let streamed = HeatMatrixSampler(configuration: Fixtures.matrixConfiguration(clock: Fixtures.ManualClock(Fixtures.baseUnixMs)))
        let restored = Result { () throws(MatrixHistoryCodecError) in try streamed.restore(encoded: file) }
        let history: MatrixHistory
        switch (decoded, restored) {
        case (.failure(let a), .failure(let b)):
            o.check(a == b, "\(label): decode refused with '\(a)', the streaming restore with '\(b)'")
            return
        case (.success(let h), .success(let r)):
            history = h
            guard let r else { o.fail("\(label): the streaming restore found the new sampler's history not empty"); return }
            o.check(r.columns == h.columnCount, "\(label): the streaming restore read \(r.columns) columns, decode \(h.columnCount)")
            o.check(r.newestUnixMs == h.newestUnixMs, "\(label): newest stamps differ: \(String(describing: r.newestUnixMs)) and \(String(describing: h.newestUnixMs))")
        case (.success, .failure(let e)):
            o.fail("\(label): decode accepted the file, the streaming restore refused it: \(e)")
            return
        case (.failure(let e), .success):
            o.fail("\(label): the streaming restore accepted the file, decode refused it: \(e)")
            return
        }
        let again = Result { () throws(MatrixHistoryCodecError) in try MatrixHistoryCodec.decode(MatrixHistoryCodec.encode(history)) }
        if case .success(let h2) = again {
            o.check(h2 == history, "\(label): the decoded history re-encodes to a different one")
        } else {
            o.fail("\(label): the decoded history does not decode once re-encoded: \(again)")
        }
        let fromValue = HeatMatrixSampler(configuration: Fixtures.matrixConfiguration(clock: Fixtures.ManualClock(Fixtures.baseUnixMs)))
        o.check(fromValue.restore(history), "\(label): restore(_:) refused an empty sampler")
        o.check(fromValue.savedHistory() == streamed.savedHistory(), "\(label): restoring the decoded history and streaming the file give different histories")

        let handler = KeyVizHTTPHandler(metrics: NullExposition(), matrix: streamed)
        var queries: [[String: String]] = [[:], ["rows": "3", "series": "reads"], ["resolution_ms": "10000"],
                                           ["resolution_ms": "3600000", "from_unix_ms": "1", "series": "read_bytes"],
                                           ["start_key": "a2V5LzAw", "end_key": "a2V5LzU", "rows": "2", "series": "write_bytes"]]
        if let newest = history.newestUnixMs {
            let valid = UnixTime.validMilliseconds
            let from = max(1, min(valid.upperBound, newest &- 30_000)), to = max(1, min(valid.upperBound, newest &+ 1))
            queries.append(["from_unix_ms": String(from), "to_unix_ms": String(to), "rows": "7"])
        }
        for q in queries {
            let r = await handler.handle(KeyVizHTTPRequest(method: "GET", path: "/api/v1/keyviz/matrix", query: q))
            let what = "\(label): matrix \(q.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&"))"
            AnswerChecks.matrixResponse(status: r.status, body: r.body,
                                        rules: MatrixRules(maxRows: KeyVizHTTPHandler.rowBudget(query: q), maxColumns: Fixtures.maxLocalColumns),
                                        allowed: [200], what, &o)
        }
    }
}
