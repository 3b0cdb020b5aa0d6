#if canImport(Glibc)
import Glibc
#endif
import KeyViz
import KeyVizStateFile
import KeyVizTestKit
import Logging
import Testing

private func tempDir() -> String {
    var template = Array("/tmp/keyviz-state-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

private func files(in dir: String) -> [String] {
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { out.append(name) }
    }
    return out.sorted()
}

private func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, bytes.count) }
    close(fd)
}

private func sampler() -> HeatMatrixSampler {
    HeatMatrixSampler(configuration: .init(stepMilliseconds: 1_000, historyColumns: 5, stripes: 1,
                                           coarserTiers: [.init(stepMilliseconds: 5_000, columns: 10)]))
}

@Suite struct MatrixStateFileTests {
    @Test func aSavedHistoryIsLoadedBackIntoANewSampler() throws {
        let dir = tempDir()
        let a = sampler()
        a.apply(RouteCatalog.evenlySplit(count: 3, groups: 1))
        for i in 1...30 {
            a.observe(route: RouteID(UInt64(i % 3 + 1)), op: .write, keyLength: 1, valueLength: 1)
            a.flush(atUnixMs: 1_700_000_000_000 + Int64(i) * 1_000)
        }
        let file = try MatrixStateFile(directory: dir, logger: Logger(label: "test"))
        let n = try file.save(a)
        #expect(n > 24)
        #expect(files(in: dir) == ["matrix.state"])
        let b = sampler()
        #expect(file.load(into: b) == .restored(columns: a.savedHistory().columnCount, newestUnixMs: 1_700_000_030_000))
        #expect(b.savedHistory() == a.savedHistory())
        #expect(file.load(into: b) == .samplerNotEmpty)
    }

    @Test func noFileMeansAnEmptyStart() throws {
        let file = try MatrixStateFile(directory: tempDir() + "/new", logger: Logger(label: "test"))
        #expect(file.load(into: sampler()) == .absent)
    }

    /// A truncated or garbage file is set aside under a new name, byte for byte, and the
    /// sampler starts empty; the next save writes a good file beside it.
    @Test(arguments: ["truncated", "garbage", "empty"])
    func anUnusableFileIsSetAsideAndTheNodeStartsEmpty(kind: String) throws {
        let dir = tempDir()
        let a = sampler()
        a.apply(RouteCatalog.evenlySplit(count: 2, groups: 1))
        a.observe(route: 1, op: .read, keyLength: 1, valueLength: 1)
        a.flush(atUnixMs: 1_700_000_000_000)
        let good = MatrixHistoryCodec.encode(a.savedHistory())
        let bad: [UInt8] = switch kind {
        case "truncated": Array(good.prefix(good.count - 3))
        case "garbage": Array("not a state file\n".utf8)
        default: []
        }
        writeFile(dir + "/matrix.state", bad)
        let file = try MatrixStateFile(directory: dir, logger: Logger(label: "test"))
        let b = sampler()
        guard case .setAside(let aside?, let reason) = file.load(into: b) else {
            Issue.record("not set aside")
            return
        }
        #expect(!reason.isEmpty)
        #expect(b.savedHistory().columnCount == 0)
        #expect(aside.hasPrefix(dir + "/matrix.state.corrupt-"))
        #expect(try MatrixStateFile.read(path: dir + "/matrix.state") == nil)
        let fd = open(aside, O_RDONLY)
        var kept = [UInt8](repeating: 0, count: bad.count + 10)
        let n = kept.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(Array(kept.prefix(n)) == bad)
        try file.save(a)
        #expect(files(in: dir).count == 2)
        #expect(try MatrixStateFile.read(path: dir + "/matrix.state") == a.savedHistory())
    }

    @Test func aTempFileLeftByAKilledSaveIsRemovedAtStartAndNeverRead() throws {
        let dir = tempDir()
        writeFile(dir + "/matrix.state.tmp", Array("half a save".utf8))
        let file = try MatrixStateFile(directory: dir, logger: Logger(label: "test"))
        #expect(files(in: dir).isEmpty)
        #expect(file.load(into: sampler()) == .absent)
    }

    @Test func aPathThatIsNotADirectoryIsRefusedAtStart() {
        let dir = tempDir()
        writeFile(dir + "/plain", [1])
        #expect(throws: StateFileError.self) { try MatrixStateFile(directory: dir + "/plain", logger: Logger(label: "test")) }
        #expect(throws: StateFileError.self) { try MatrixStateFile(directory: dir + "/a/b/c", logger: Logger(label: "test")) }
    }
}
