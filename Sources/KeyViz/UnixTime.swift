#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time in Unix milliseconds, the unit of heat-matrix columns and the matrix API:
/// the one clock KeyViz's modules default to. Package-wide, not API: a host passes its own
/// `now` closure where it wants another clock (usable from inline code because public
/// initializers name it as their default).
@usableFromInline
package enum UnixTime {
    @usableFromInline
    package static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

extension UnixTime {
    /// The stamps KeyViz accepts from outside (a peer, a state file, a query, Prometheus): 1970
    /// to the end of 9999, what the matrix API writes (its stamps are not negative) and RFC 3339
    /// spells. Any stamp in it minus any tier step (at most a year) is still an `Int64`, so
    /// arithmetic on a checked stamp cannot trap.
    package static let validMilliseconds: ClosedRange<Int64> = 0...253_402_300_799_999
}
