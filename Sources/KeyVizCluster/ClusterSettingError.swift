/// A setting of a cluster view outside its documented range, or a Prometheus URL a view cannot
/// use: thrown by ``ClusterView`` and ``PrometheusView`` when they are made, so nothing is
/// silently raised or lowered and a bad flag fails at start with the setting's name.
public struct ClusterSettingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The parameter's name (`timeout`, `maxBodyBytes`, `maxColumns`, `remember`, `stepMs`, `url`).
    public let setting: String
    public let problem: String

    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "\(setting): \(problem)" }

    /// Throws unless `value` is in `range`.
    static func check<T: Comparable>(_ setting: String, _ value: T, _ range: ClosedRange<T>, unit: String = "") throws(ClusterSettingError) {
        guard range.contains(value) else {
            throw ClusterSettingError(setting: setting, problem: "\(value)\(unit) is outside \(range.lowerBound)\(unit)…\(range.upperBound)\(unit)")
        }
    }
}
