@testable import KeyViz
import KeyVizTestKit
import Testing

/// A flush builds its column entry by entry: the column stays 4 bytes per entry until a value
/// needs 64 bits, then widens keeping every earlier value.
@Suite struct CountColumnTests {
    @Test func appendingWidensOnTheFirstValueOver32BitsAndKeepsEveryValue() {
        var rng = SplitMix64(seed: 4)
        for widenAt in [0, 1, 7, 300, -1] {
            var column = CountColumn(reservingCapacity: 8)
            var values: [UInt64] = []
            for i in 0..<400 {
                let v = i == widenAt ? UInt64(UInt32.max) + 1 + rng.next() % 1000 : rng.next() % (UInt64(UInt32.max) + 1)
                column.append(v)
                values.append(v)
            }
            #expect(column.count == values.count && (0..<values.count).allSatisfy { column[$0] == values[$0] })
            #expect(column.bytesPerEntry == (widenAt >= 0 ? 8 : 4), "widen at \(widenAt)")
            #expect(CountColumn(values).bytesPerEntry == column.bytesPerEntry, "the same width as built from the whole array")
        }
    }
}
