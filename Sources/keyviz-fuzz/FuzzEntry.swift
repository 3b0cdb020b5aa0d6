// The fuzz driver. Built with `-DKEYVIZ_LIBFUZZER -sanitize=fuzzer,address` it is a libFuzzer
// binary (`LLVMFuzzerTestOneInput`) whose target is named by the environment variable
// KEYVIZ_FUZZ_TARGET (scripts/fuzz.sh); built normally it replays files through a target
// (docs/fuzzing.md).
import Foundation
import KeyVizFuzzTargets

#if canImport(Glibc)
import Glibc
#endif

/// A line (or lines) on standard error.
private func warn(_ text: String) {
    var bytes = Array(text.utf8)
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        guard n > 0 else { return }
        bytes.removeFirst(n)
    }
}

/// Runs `body` (a target's async evaluation) to its end, waiting on this thread: the driver's
/// own, which libFuzzer and the replayer hand one input at a time. (The library never waits
/// like this; the fuzz driver is a program, not a library.)
private func runToEnd<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let result = LockedBox<T>()
    Task {
        result.set(await body())
        done.signal()
    }
    done.wait()
    return result.take()
}

/// One value handed from a task to the waiting driver thread.
private final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?
    func set(_ v: T) { lock.withLock { value = v } }
    func take() -> T { lock.withLock { value! } }
}

#if KEYVIZ_LIBFUZZER

/// The target named by KEYVIZ_FUZZ_TARGET, looked up once.
private let selected: FuzzTarget = {
    let name = getenv("KEYVIZ_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTargets.named(name) else {
        warn("keyviz-fuzz: set KEYVIZ_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: ", ")) (got '\(name)')\n")
        exit(2)
    }
    return target
}()

/// Builds the target's fixtures before the first input, so their one-time cost is not counted
/// against an input (timeouts, malloc limit).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    let target = selected
    runToEnd { await target.run([]) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let target = selected
    let input = Array(UnsafeRawBufferPointer(start: data, count: size))
    runToEnd { await target.run(input) }
    return 0
}

/// libFuzzer's driver (`int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))`).
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The entry point hands over to libFuzzer's driver. (SwiftPM renames an executable's entry
/// point and links `main` to it, so libFuzzer's own `main` would never be the one called; with
/// this `main` its archive member is simply not linked.) `keyviz-fuzz --replay …`, `--list` and
/// `--make-seeds` run the replayer below instead, sanitized: scripts/fuzz.sh replays the corpus
/// with it.
@main
struct FuzzMain {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if let first = args.first, ["--replay", "--list", "--make-seeds"].contains(first) {
            FuzzReplayer.main(first == "--replay" ? Array(args.dropFirst()) : args)
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(runDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) })
    }
}

#else

@main
struct FuzzMain {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        FuzzReplayer.main(args.first == "--replay" ? Array(args.dropFirst()) : args)
    }
}

#endif

/// `keyviz-fuzz [--replay] TARGET [--emit DIR] PATH…`: runs every file (directories recursively, in name
/// order) through TARGET and reports each broken invariant with its file; with `--emit`, writes
/// every JSON answer to DIR as `<n>-<file>.<k>.<Schema>.<status>.json` (Schema is the
/// docs/openapi.yaml schema it must match). Exit status 1 when an invariant broke.
/// `keyviz-fuzz --list` names the targets; `keyviz-fuzz --make-seeds DIR` writes the seed corpora.
enum FuzzReplayer {
    static func usage() -> Never {
        warn("""
            usage: keyviz-fuzz [--replay] TARGET [--emit DIR] PATH...   replay files (directories recursively) through TARGET
                   keyviz-fuzz --list                                  the targets
                   keyviz-fuzz --make-seeds DIR                        write the seed corpora to DIR/<target>/
            (built with -DKEYVIZ_LIBFUZZER: --replay is needed, anything else is libFuzzer's command line)

            """)
        exit(2)
    }

    static func main(_ arguments: [String]) -> Never {
        var args = arguments
        guard let first = args.first else { usage() }
        if first == "--list" {
            for t in FuzzTargets.all { print("\(t.name)\t\(t.summary)") }
            exit(0)
        }
        if first == "--make-seeds" {
            guard args.count == 2 else { usage() }
            makeSeeds(args[1])
            exit(0)
        }
        guard let target = FuzzTargets.named(first) else {
            warn("keyviz-fuzz: no target '\(first)' (\(FuzzTargets.all.map(\.name).joined(separator: ", ")))\n")
            exit(2)
        }
        args.removeFirst()
        var emit: String?
        if args.first == "--emit" {
            guard args.count >= 2 else { usage() }
            emit = args[1]
            args.removeFirst(2)
            mkdirs(emit!)
        }
        guard !args.isEmpty else { usage() }
        var inputs = 0, answers = 0, broken = 0
        for path in args.flatMap(files) {
            guard let bytes = readFile(path) else {
                warn("keyviz-fuzz: cannot read \(path)\n")
                exit(2)
            }
            let outcome = runToEnd { await target.evaluate(bytes) }
            inputs += 1
            for f in outcome.failures { print("FAIL \(target.name) \(path): \(f)") }
            if !outcome.failures.isEmpty { broken += 1 }
            if let emit {
                let base = path.split(separator: "/").last.map(String.init) ?? "input"
                for (k, a) in outcome.answers.enumerated() {
                    writeFile("\(emit)/\(String(inputs).leftPadded(5))-\(base).\(k).\(a.schema).\(a.status).json", a.body)
                    answers += 1
                }
            }
        }
        print("\(target.name): \(inputs) inputs, \(broken) broke an invariant" + (emit.map { ", \(answers) answers written to \($0)" } ?? ""))
        exit(broken == 0 ? 0 : 1)
    }

    static func makeSeeds(_ dir: String) {
        for (target, seeds) in FuzzSeeds.all().sorted(by: { $0.key < $1.key }) {
            mkdirs("\(dir)/\(target)")
            for s in seeds { writeFile("\(dir)/\(target)/\(s.name)", s.bytes) }
            print("\(dir)/\(target): \(seeds.count) seeds")
        }
    }

    /// `path` itself, or the regular files under it in name order (names starting with `.` skipped).
    static func files(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().flatMap { files("\(path)/\($0)") }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n > 0 { out.append(contentsOf: buffer[..<n]) }
            if n < buffer.count { return ferror(f) == 0 ? out : nil }
        }
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) {
        guard let f = fopen(path, "wb"), fwrite(bytes, 1, bytes.count, f) == bytes.count, fclose(f) == 0 else {
            warn("keyviz-fuzz: cannot write \(path)\n")
            exit(2)
        }
    }

    static func mkdirs(_ path: String) {
        var sofar = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            sofar += "/" + part
            _ = mkdir(sofar, 0o755)
        }
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
