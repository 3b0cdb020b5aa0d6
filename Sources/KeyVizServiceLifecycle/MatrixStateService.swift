public import KeyViz
public import KeyVizStateFile
public import ServiceLifecycle
import Logging

/// Saves a `HeatMatrixSampler`'s history to a `MatrixStateFile` every `interval` and once
/// more at graceful shutdown (after a flush of its own, so what was observed before the stop is
/// in the file whichever service stops first). Load the file yourself before running the group
/// (`file.load(into: matrix)`): the restore must come before the first flush. A failed save is
/// logged by the next one's success or failure, never thrown: the node keeps serving.
public struct MatrixStateService: Service {
    public let matrix: HeatMatrixSampler
    public let file: MatrixStateFile
    public let interval: Duration

    public init(matrix: HeatMatrixSampler, file: MatrixStateFile, interval: Duration = .seconds(300)) {
        self.matrix = matrix
        self.file = file
        self.interval = interval
    }

    public func run() async throws {
        let interval = max(interval, .milliseconds(100))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    break
                }
                save()
            }
        }
        matrix.flush()
        save()
    }

    private func save() {
        do {
            try file.save(matrix)
        } catch {
            file.logger.error("saving the matrix history failed", metadata: ["path": "\(file.path)", "reason": "\(error)"])
        }
    }
}
