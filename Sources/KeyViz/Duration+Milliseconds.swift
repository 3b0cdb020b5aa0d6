/// How long KeyViz waits is a `Duration` in every public API (timeouts, intervals, drains); the
/// data's time axis (column stamps, steps, history windows) is Int64 Unix milliseconds, as in the
/// matrix JSON. These convert the first for code that counts in the second.
extension Duration {
    /// This duration in whole milliseconds, rounded up (a 0.2 ms timeout is 1 ms, not none), then
    /// kept within `range`. Saturates instead of trapping: a `Duration` can exceed Int64
    /// milliseconds by a factor of 1 000.
    package func milliseconds(within range: ClosedRange<Int64>) -> Int64 {
        let (seconds, attoseconds) = components
        let perMillisecond: Int64 = 1_000_000_000_000_000
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? range.lowerBound : range.upperBound }
        var (ms, o2) = whole.addingReportingOverflow(attoseconds / perMillisecond)
        if o2 { return seconds < 0 ? range.lowerBound : range.upperBound }
        if attoseconds % perMillisecond > 0, ms < .max { ms += 1 }
        return min(range.upperBound, max(range.lowerBound, ms))
    }

    /// This duration in seconds as a `Double` (for deadlines on a monotonic clock in seconds).
    package var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
