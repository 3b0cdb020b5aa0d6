import Synchronization

/// A response body lent to libmicrohttpd instead of copied into it: libmicrohttpd sends from
/// the array's own storage and calls back when it is done, which releases this holder. (The
/// copy cost an allocation and a memcpy of the whole body per request; docs/performance.md has
/// what lending changed, for uncompressed scrapes.)
///
/// The address outlives `withUnsafeBytes`, which Swift's rules alone do not promise. It holds
/// because an array's elements live in one heap object that Swift never moves, and this holder
/// keeps that object alive and unmutated (a `let`) until libmicrohttpd's free callback.
final class ResponseBody {
    /// Bodies below this are copied (one small copy costs less than an object and a callback).
    static let lendAtLeast = 16 * 1024

    let body: [UInt8]
    let bytes: UnsafeMutableRawPointer
    private let ledger: LentBodies

    init(_ body: [UInt8], ledger: LentBodies) {
        precondition(!body.isEmpty, "an empty body has no storage to lend")
        self.body = body
        self.ledger = ledger
        bytes = self.body.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        ledger.count.wrappingAdd(1, ordering: .relaxed)
        ledger.total.wrappingAdd(1, ordering: .relaxed)
    }

    var count: Int { body.count }

    deinit { ledger.count.wrappingSubtract(1, ordering: .relaxed) }
}

/// How many of a server's response bodies libmicrohttpd holds: each is released by its free
/// callback, so after the last request this is 0 (a test checks it).
final class LentBodies: Sendable {
    fileprivate let count = Atomic<Int>(0)
    fileprivate let total = Atomic<Int>(0)
    var held: Int { count.load(ordering: .relaxed) }
    var lent: Int { total.load(ordering: .relaxed) }
}
