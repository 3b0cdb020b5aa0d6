#if canImport(Glibc)
import Glibc
#endif
import KeyViz
import KeyVizServiceLifecycle
import KeyVizStateFile
import Logging
import ServiceLifecycle
import Testing

@Suite struct MatrixStateServiceTests {
    /// At graceful shutdown the service flushes and saves, so a new sampler loading the file has
    /// every observation made before the stop.
    @Test func aGracefulShutdownSavesWhatWasObservedBeforeIt() async throws {
        var template = Array("/tmp/keyviz-state-svc-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        let matrix = HeatMatrixSampler(configuration: .init(stepMilliseconds: 60_000))
        matrix.apply(.evenlySplit(count: 2, groups: 1))
        let file = try MatrixStateFile(directory: dir, logger: Logger(label: "test"))
        #expect(file.load(into: matrix) == .absent)
        let group = ServiceGroup(configuration: .init(services: [MatrixStateService(matrix: matrix, file: file, interval: .seconds(3600))],
                                                      logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<7 { matrix.observe(route: 2, op: .write, keyLength: 1, valueLength: 1) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let again = HeatMatrixSampler(configuration: .init(stepMilliseconds: 60_000))
        guard case .restored = file.load(into: again) else {
            Issue.record("nothing restored")
            return
        }
        #expect(again.savedHistory().totals.routed.writes == 7)
    }
}
