import KeyViz
import KeyVizCluster

/// `peer-framing`: a peer's HTTP answer, as bytes arrive, through `PeerResponseReader`.
///
/// Input: byte 0 picks the caps (bits 0–2 the body cap, bits 3–4 the head cap), byte 1 seeds
/// the chunk sizes (0…16 bytes, or 0…512 when its top bit is set; empty chunks included), the
/// rest is the stream; then `finish()`. Checks: a `.done` body is never larger than
/// `maxBodyBytes`; the status is three digits; once done or failed the reader keeps its answer;
/// and the answer is the same whatever the chunking (the same stream fed at once).
enum PeerFramingTarget {
    static let bodyCaps = [0, 1, 7, 16, 100, 1000, 4096, 1 << 20]
    static let headCaps = [16, 40, 1024, 64 * 1024]

    static func evaluate(_ input: [UInt8]) -> FuzzOutcome {
        var o = FuzzOutcome()
        let b0 = input.first ?? 0, b1 = input.count > 1 ? input[1] : 0
        let stream = input.dropFirst(2)
        let maxBody = bodyCaps[Int(b0 & 7)], maxHead = headCaps[Int(b0 >> 3 & 3)]

        var chunked = PeerResponseReader(maxHeadBytes: maxHead, maxBodyBytes: maxBody)
        var rng = SplitMix64(seed: UInt64(b1))
        let widest: UInt64 = b1 & 0x80 != 0 ? 513 : 17
        var rest = stream[...]
        var step = PeerResponseReader.Step.needMore
        var settled: PeerResponseReader.Step?
        while !rest.isEmpty {
            let n = Int(rng.next() % widest)
            step = chunked.append(rest.prefix(n))
            rest = rest.dropFirst(n)
            if let s = settled {
                o.check(step == s, "the reader changed its answer after \(describe(s)): now \(describe(step))")
            } else if step != .needMore {
                settled = step
            }
        }
        let final = chunked.finish()
        if let s = settled { o.check(final == s, "finish() changed the answer after \(describe(s)): now \(describe(final))") }
        o.check(final != .needMore, "finish() still wants more")
        check(final, maxBody: maxBody, &o)
        o.check(chunked.append([1, 2, 3]) == final && chunked.finish() == final, "the reader changed its answer after finish()")

        // The same stream in one piece: the same answer.
        var whole = PeerResponseReader(maxHeadBytes: maxHead, maxBodyBytes: maxBody)
        _ = whole.append(stream)
        let once = whole.finish()
        o.check(once == final, "chunking changed the answer: in chunks \(describe(final)), at once \(describe(once))")
        return o
    }

    static func check(_ step: PeerResponseReader.Step, maxBody: Int, _ o: inout FuzzOutcome) {
        guard case .done(let r) = step else { return }
        o.check(r.body.count <= maxBody, "a body of \(r.body.count) bytes passed the cap of \(maxBody)")
        o.check((100...999).contains(r.status), "status \(r.status) is not three digits")
    }

    static func describe(_ s: PeerResponseReader.Step) -> String {
        switch s {
        case .needMore: "needMore"
        case .done(let r): "done(\(r.status), \(r.body.count) bytes)"
        case .failed(let e): "failed(\(e.message))"
        }
    }
}
