// swift-tools-version: 6.1
// KeyViz benchmarks: a package of its own (depending on the root by path) so that the root's
// `swift test` never builds the harness or the peers. Run from this folder:
//   swift package --allow-writing-to-package-directory benchmark
// For quick looks by hand; the figures of ../docs/performance.md come from Host/ (keyviz-bench)
// through ../scripts/bench-all.sh.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which differs between clones (main, c, …).
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "KeyVizBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // The peer a Swift user would otherwise pick.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KeyViz", package: root),
                .product(name: "KeyVizPrometheus", package: root),
                .product(name: "KeyVizTestKit", package: root),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Render",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KeyViz", package: root),
                .product(name: "KeyVizPrometheus", package: root),
                .product(name: "KeyVizHTTP", package: root),
                .product(name: "KeyVizTestKit", package: root),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Benchmarks/Render",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Resident bytes per tracked route (not a timing benchmark: a process of its own).
        .executableTarget(
            name: "keyviz-memory",
            dependencies: [
                .product(name: "KeyViz", package: root),
                .product(name: "KeyVizPrometheus", package: root),
                .product(name: "KeyVizTestKit", package: root),
            ],
            path: "Sources/keyviz-memory"
        ),
    ],
    swiftLanguageModes: [.v6]
)
