/// Why the server refused to start or a setting was refused. The messages are for people.
public enum ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    case badListenAddress(String, String)
    case cannotListen(String, String)
    case badAuthFile(String, line: Int, String)
    case cannotRead(String, String)
    case tlsUnavailable
    case tlsNeedsBoth
    case daemonFailed(String)
    /// A ``MetricsServerConfiguration`` setting outside its documented range.
    case invalidConfiguration(setting: String, problem: String)

    public var description: String {
        switch self {
        case .badListenAddress(let a, let why): "bad listen address '\(a)': \(why) (want HOST:PORT, e.g. 127.0.0.1:9477)"
        case .cannotListen(let a, let why): "cannot listen on \(a): \(why)"
        case .badAuthFile(let p, let line, let why): "bad basic-auth file \(p)\(line > 0 ? " line \(line)" : ""): \(why)"
        case .cannotRead(let p, let why): "cannot read \(p): \(why)"
        case .tlsUnavailable: "this libmicrohttpd was built without TLS support"
        case .tlsNeedsBoth: "TLS needs both --tls-cert and --tls-key"
        case .daemonFailed(let why): "libmicrohttpd refused to start: \(why)"
        case .invalidConfiguration(let setting, let problem): "MetricsServerConfiguration.\(setting): \(problem)"
        }
    }
}
