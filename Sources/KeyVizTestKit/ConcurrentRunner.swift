import Foundation
import Synchronization

/// Runs closures on their own OS threads at the same time and resumes the caller when all of
/// them have returned.
///
/// Tests of a sampler "observed from many threads at once" need real threads, not tasks on a
/// cooperative pool that may run them one after another. The caller suspends meanwhile; no
/// thread but the ones started here waits.
public enum ConcurrentRunner {
    public static func run(_ bodies: [@Sendable () -> Void]) async {
        guard !bodies.isEmpty else { return }
        final class Remaining: Sendable {
            let count: Atomic<Int>
            init(_ n: Int) { count = Atomic(n) }
        }
        let remaining = Remaining(bodies.count)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for body in bodies {
                let t = Thread {
                    body()
                    if remaining.count.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume() }
                }
                t.stackSize = 1 << 22
                t.start()
            }
        }
    }
}
