// swift-tools-version: 6.1
// A Hummingbird app that embeds KeyViz: its own routes and swift-metrics counters, KeyViz's
// families, on one /metrics; the matrix API and heat map page mounted on its router; logs
// through its own Logger; started and stopped by a ServiceGroup. `KeyVizHummingbird` is the
// adapter product a Hummingbird host takes, enabled by the KeyViz package's Hummingbird trait
// (so hosts that do not use it never resolve Hummingbird). CI: scripts/check-hummingbird-host.sh.
import PackageDescription

let package = Package(
    name: "HummingbirdHost",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "KeyViz", path: "../..", traits: ["Hummingbird"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(name: "HummingbirdHost", dependencies: [
            .product(name: "KeyVizHummingbird", package: "KeyViz"),   // the adapter: the handler only, no libmicrohttpd, no C
            .product(name: "KeyViz", package: "KeyViz"),
            .product(name: "KeyVizHTTPHandler", package: "KeyViz"),
            .product(name: "KeyVizPrometheus", package: "KeyViz"),
            .product(name: "KeyVizMetrics", package: "KeyViz"),
            .product(name: "KeyVizServiceLifecycle", package: "KeyViz"),
            .product(name: "ShardKV", package: "KeyViz"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
