import KeyViz
import Testing

/// Public APIs take `Duration` for how long KeyViz waits; the code under them counts Int64
/// milliseconds. The conversion never traps and never turns a positive wait into none.
struct DurationMillisecondsTests {
    @Test func roundsUpToWholeMillisecondsWithinTheRange() {
        #expect(Duration.milliseconds(1500).milliseconds(within: 1...60_000) == 1500)
        #expect(Duration.microseconds(200).milliseconds(within: 0...60_000) == 1)
        #expect(Duration.nanoseconds(1_000_001).milliseconds(within: 0...60_000) == 2)
        #expect(Duration.zero.milliseconds(within: 1...60_000) == 1)
        #expect(Duration.seconds(-3).milliseconds(within: 0...60_000) == 0)
        #expect(Duration.seconds(61).milliseconds(within: 1...60_000) == 60_000)
    }

    @Test func durationsBeyondInt64MillisecondsSaturateInsteadOfTrapping() {
        let full = Int64.min...Int64.max
        #expect(Duration.seconds(Int64.max).milliseconds(within: full) == .max)
        #expect(Duration.seconds(Int64.min).milliseconds(within: full) == .min)
        #expect(Duration.seconds(Int64.max / 1000).milliseconds(within: full) == Int64.max / 1000 * 1000)
        #expect((Duration.seconds(Int64.max / 1000) + .milliseconds(999)).milliseconds(within: full) == .max)
        #expect(Duration.seconds(Int64.max).milliseconds(within: 0...10) == 10)
    }

    @Test func secondsValueKeepsTheFraction() {
        #expect(Duration.milliseconds(2500).secondsValue == 2.5)
        #expect(Duration.seconds(-1).secondsValue == -1)
    }
}
