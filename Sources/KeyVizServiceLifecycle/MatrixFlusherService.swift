public import KeyViz
public import ServiceLifecycle

/// Runs a `HeatMatrixSampler`'s flusher as a swift-service-lifecycle `Service`: one column per step
/// until graceful shutdown (or cancellation), then one last flush so nothing observed before
/// the stop is left out of the matrix.
public struct MatrixFlusherService: Service {
    public let matrix: HeatMatrixSampler

    public init(matrix: HeatMatrixSampler) {
        self.matrix = matrix
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await matrix.runFlusher() }
    }
}
