public import Logging
public import Synchronization

/// A swift-log destination that keeps every line (`"<level> <message>"`), for tests of what a
/// component logs and how much: pass ``logger`` where the component takes a `Logger`.
public final class CapturedLog: Sendable {
    public let lines = Mutex<[String]>([])

    public init() {}

    /// A logger at `.trace` whose lines land in ``lines``.
    public var logger: Logger {
        Logger(label: "keyviz.captured") { _ in Handler(sink: self) }
    }

    struct Handler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            sink.lines.withLock { $0.append("\(event.level) \(event.message)") }
        }
    }
}
