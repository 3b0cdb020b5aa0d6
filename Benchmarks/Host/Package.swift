// swift-tools-version: 6.0
// The figures of docs/performance.md, measured the way a host sees KeyViz: a package of its own
// that depends on the root by path and uses only public API, so it measures whatever code the
// branch holds, and the root's `swift test` never builds it. Run everything (and regenerate the
// doc's tables) with ../../scripts/bench-all.sh; by hand: `swift run -c release keyviz-bench help`.
import PackageDescription

let package = Package(
    name: "KeyVizHostBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "KeyViz", path: "../.."),
        // The peer a Swift user would otherwise pick (render: `emit(into:)`; hot path: counters).
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        .executableTarget(name: "keyviz-bench", dependencies: [
            .product(name: "KeyViz", package: "KeyViz"),
            .product(name: "KeyVizPrometheus", package: "KeyViz"),
            .product(name: "KeyVizHTTPHandler", package: "KeyViz"),
            .product(name: "KeyVizTestKit", package: "KeyViz"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
