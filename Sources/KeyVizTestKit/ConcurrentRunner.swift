import Foundation

/// Runs closures on their own OS threads at the same time and waits for all of them.
///
/// Tests of a sampler "observed from many threads at once" need real threads, not tasks on a
/// cooperative pool that may run them one after another.
public enum ConcurrentRunner {
    public static func run(_ bodies: [@Sendable () -> Void]) {
        let group = DispatchGroup()
        for body in bodies {
            group.enter()
            let t = Thread {
                body()
                group.leave()
            }
            t.stackSize = 1 << 22
            t.start()
        }
        group.wait()
    }
}
