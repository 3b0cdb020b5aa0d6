#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics, read from `/proc` at each render (Linux; elsewhere none).
public struct ProcessCollector: MetricsCollector {
    public init() {}

    public func collect() -> [MetricFamily] {
        #if os(Linux)
        guard let stat = Self.readFile("/proc/self/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return [] }
        // Fields after "pid (comm) ": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
        let fields = stat[(close + 2)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        func field(_ n: Int) -> Double { fields.count > n - 3 ? Double(fields[n - 3]) ?? 0 : 0 }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        var families: [MetricFamily] = [
            gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", (field(14) + field(15)) / ticks, counter: true),
            gauge("process_resident_memory_bytes", "Resident memory size in bytes.", field(24) * pageSize),
            gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", field(23)),
        ]
        if let boot = Self.bootTime {
            families.append(gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", boot + field(22) / ticks))
        }
        families.append(gauge("process_open_fds", "Number of open file descriptors.", Double(Self.openFileDescriptors())))
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(gauge("process_max_fds", "Maximum number of open file descriptors.",
                                  limit.rlim_cur == rlim_t.max ? .infinity : Double(limit.rlim_cur)))
        }
        return families
        #else
        return []
        #endif
    }

    private func gauge(_ name: String, _ help: String, _ value: Double, counter: Bool = false) -> MetricFamily {
        MetricFamily(unchecked: name, help: help, type: counter ? .counter : .gauge, samples: [MetricSample(value: .double(value))])
    }

    #if os(Linux)
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    /// Boot time never changes: read once.
    private static let bootTime: Double? = readBootTime()

    private static func readBootTime() -> Double? {
        guard let stat = readFile("/proc/stat") else { return nil }
        for line in stat.split(separator: UInt8(ascii: "\n")) where line.starts(with: "btime ".utf8) {
            return Double(String(decoding: line.dropFirst(6), as: UTF8.self))
        }
        return nil
    }

    private static func openFileDescriptors() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] == UInt8(ascii: ".") }
            if !isDot { n += 1 }
        }
        return max(0, n - 1)   // the directory stream itself
    }
    #endif
}
