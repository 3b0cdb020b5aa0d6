@testable import KeyViz
import KeyVizTestKit
import Testing

/// ``KeySketch`` (byte keys in a fixed arena, open addressing) against ``SpaceSavingSketch`` over
/// the same keys as values: the same algorithm, so after every step both hold the same entries
/// with the same counts and errors.
@Suite struct KeySketchTests {
    private struct Key: Hashable, Sendable { var bytes: [UInt8]; var truncated: Bool }

    @Test(arguments: Array(1...12) as [UInt64])
    func aKeySketchCountsExactlyAsTheReferenceSketch(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let capacity = 1 + below(12), maxKey = below(3) == 0 ? 0 : 1 + below(12)
        var sketch = KeySketch(capacity: capacity, maxKeyBytes: maxKey)
        var reference = SpaceSavingSketch<Key>(capacity: capacity)
        // A small alphabet so keys repeat, collide in the table and get evicted.
        let keys: [[UInt8]] = (0..<(capacity * 3)).map { _ in (0..<below(20)).map { _ in UInt8(below(3)) } }
        // Resets often enough that some find a nearly empty sketch (it clears only its entries'
        // slots then) and some a full one.
        let resetOdds = [1_000, 40, 5][below(3)]
        for step in 0..<3_000 {
            if below(200) == 0 {
                sketch.halve()
                reference.halve()
            } else if below(resetOdds) == 0 {
                sketch.reset()
                reference.reset()
            } else {
                let k = keys[below(keys.count)]
                let cut = below(10) == 0
                k.withUnsafeBytes { sketch.add($0, cut: cut) }
                reference.add(Key(bytes: Array(k.prefix(maxKey)), truncated: cut || k.count > maxKey))
            }
            let got = sketch.top(capacity).map { "\($0.key)\($0.truncated) \($0.count)/\($0.error)" }
            let want = reference.entries.sorted { a, b in
                if a.count != b.count { return a.count > b.count }
                if a.error != b.error { return a.error < b.error }
                return a.item.bytes.lexicographicallyPrecedes(b.item.bytes)
            }.map { "\($0.item.bytes)\($0.item.truncated) \($0.count)/\($0.error)" }
            if got != want || sketch.total != reference.total {
                Issue.record("seed \(seed), step \(step): \(got) total \(sketch.total), reference \(want) total \(reference.total)")
                return
            }
        }
    }
}
