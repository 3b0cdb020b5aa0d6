// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "KeyViz",
    // Built and tested on Linux (Debian/Ubuntu) only: the server reads /proc and uses crypt_r and
    // mallopt. The Apple minimum is where the Synchronization module (Mutex, Atomic) exists.
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KeyViz", targets: ["KeyViz"]),
        .library(name: "KeyVizTestKit", targets: ["KeyVizTestKit"]),
        .library(name: "KeyVizPrometheus", targets: ["KeyVizPrometheus"]),
        .library(name: "KeyVizHTTPHandler", targets: ["KeyVizHTTPHandler"]),
        .library(name: "KeyVizHTTP", targets: ["KeyVizHTTP"]),
        .library(name: "KeyVizCluster", targets: ["KeyVizCluster"]),
        .library(name: "KeyVizMetrics", targets: ["KeyVizMetrics"]),
        .library(name: "KeyVizServiceLifecycle", targets: ["KeyVizServiceLifecycle"]),
        .library(name: "KeyVizStateFile", targets: ["KeyVizStateFile"]),
        .library(name: "KeyVizHTTPServiceLifecycle", targets: ["KeyVizHTTPServiceLifecycle"]),
        .library(name: "ShardKV", targets: ["ShardKV"]),
        // Framework adapters: each mounts every KeyVizEndpoint on the framework's router, and
        // compiles (and resolves its framework) only under its trait.
        .library(name: "KeyVizHummingbird", targets: ["KeyVizHummingbird"]),
        .library(name: "KeyVizVapor", targets: ["KeyVizVapor"]),
        .executable(name: "keyviz-demo", targets: ["keyviz-demo"]),
    ],
    traits: [
        // The demo node is built with this trait only (make demo, scripts/test.sh: `--traits Demo`),
        // so a host that depends on the libraries never resolves the demo's command-line parser:
        // a dependency used only under a disabled trait is left out of the consumer's graph.
        .trait(name: "Demo", description: "Builds the keyviz-demo node and its command line (swift-argument-parser)."),
        // A host on Hummingbird 2 enables this on its KeyViz dependency (`traits: ["Hummingbird"]`)
        // and takes the KeyVizHummingbird product; nobody else resolves Hummingbird.
        .trait(name: "Hummingbird", description: "The KeyVizHummingbird adapter (Hummingbird 2)."),
        .trait(name: "Vapor", description: "The KeyVizVapor adapter (Vapor 4)."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        // The demo's command line (the ecosystem's parser), under the Demo trait only.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The Hummingbird adapter, under the Hummingbird trait only.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The Vapor adapter, under the Vapor trait only.
        .package(url: "https://github.com/vapor/vapor", from: "4.122.3"),
        // `swift package generate-documentation`: the DocC catalogs beside each library's code.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // The server logs through swift-log (a host's LoggingSystem decides where lines go).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // KeyVizMetrics: a swift-metrics backend rendering on KeyViz's /metrics (nothing else uses it).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // KeyVizServiceLifecycle: the server, the flusher and the hot-key drainer as Services.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Pure core: the Sampler seam, route catalog, counters and heat matrix. No C, no sockets.
        .target(name: "KeyViz"),
        // The Prometheus decorator: bounded, stable buckets rendered as text 0.0.4 / OpenMetrics.
        .target(name: "KeyVizPrometheus", dependencies: ["KeyViz", .product(name: "Logging", package: "swift-log")]),
        // The HTTP handler, transport-neutral: request in, response out (metrics, matrix JSON,
        // page, health). No C: a Hummingbird or Vapor host mounts it without libmicrohttpd.
        // The heatmap page's files are embedded in the binary at build time (no bundle, no Foundation).
        .target(name: "KeyVizHTTPHandler", dependencies: ["KeyViz", "KeyVizPrometheus"],
                resources: [.embedInCode("Page/heatmap.html"), .embedInCode("Page/heatmap.css"), .embedInCode("Page/heatmap.js")]),
        // The cluster view: merges nodes' matrices by key range (pure, tested) and fans out to
        // peers over a small HTTP client, injected into the handler. Foundation for JSON only.
        .target(name: "KeyVizCluster", dependencies: ["KeyViz", "KeyVizHTTPHandler"]),
        // libmicrohttpd, seen from Swift.
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        // The C that Swift cannot call directly, one small target per library (as swift-nio does):
        // libmicrohttpd's variadic daemon start and header scan, zlib's deflate macros, crypt_r,
        // glibc's mallopt and mallinfo2 (the demo's alone: malloc policy is the process's, not a library's).
        .target(name: "CKeyVizMicroHTTPD", linkerSettings: [.linkedLibrary("microhttpd")]),
        .target(name: "CKeyVizZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "CKeyVizCrypt", linkerSettings: [.linkedLibrary("crypt")]),
        .target(name: "CKeyVizMalloc"),
        // The embedded server on libmicrohttpd: serves the handler; owns policy (auth, limits,
        // deadlines) and content coding (gzip).
        .target(name: "KeyVizHTTP", dependencies: ["KeyViz", "KeyVizPrometheus", "KeyVizHTTPHandler", "CMicroHTTPD", "CKeyVizMicroHTTPD", "CKeyVizZlib", "CKeyVizCrypt",
                                                  .product(name: "Logging", package: "swift-log")]),
        // A swift-metrics backend: a host's own metrics on the same /metrics as KeyViz's.
        .target(name: "KeyVizMetrics", dependencies: ["KeyVizPrometheus", .product(name: "CoreMetrics", package: "swift-metrics")]),
        // swift-service-lifecycle Services: the matrix flusher and the hot-key drainer (no HTTP,
        // no C: a Hummingbird host takes these), and the embedded server in its own module.
        .target(name: "KeyVizServiceLifecycle", dependencies: ["KeyViz", "KeyVizStateFile", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .target(name: "KeyVizHTTPServiceLifecycle", dependencies: ["KeyVizHTTP", "KeyVizHTTPHandler", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        // The matrix history in a file across restarts: atomic saves, corrupt files set aside.
        .target(name: "KeyVizStateFile", dependencies: ["KeyViz", .product(name: "Logging", package: "swift-log")]),
        // Test doubles shipped as a product so host applications can test their own wiring.
        .target(name: "KeyVizTestKit", dependencies: ["KeyViz", .product(name: "Logging", package: "swift-log")]),
        // KeyVizHTTPHandler on Hummingbird's router (the handler's async entry point: no C, no
        // libmicrohttpd). Empty unless the Hummingbird trait is enabled.
        .target(name: "KeyVizHummingbird", dependencies: [
            "KeyVizHTTPHandler",
            .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
            .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Hummingbird"])),
        ]),
        // The same on a Vapor 4 application. Empty unless the Vapor trait is enabled.
        .target(name: "KeyVizVapor", dependencies: [
            "KeyVizHTTPHandler",
            .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
        ]),
        // An in-process sharded host: route engine, shard groups, MVCC store, coordinator.
        .target(name: "ShardKV", dependencies: ["KeyViz"]),
        .executableTarget(name: "keyviz-demo", dependencies: [
            "KeyViz", "KeyVizPrometheus", "KeyVizHTTP", "KeyVizCluster", "KeyVizStateFile", "ShardKV", "CKeyVizMalloc",
            .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Demo"])),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Coverage-guided fuzzing (docs/fuzzing.md): one target per trust boundary as a function of
        // bytes, a libFuzzer entry point / corpus replayer, and plain-test replay of Fuzz/.
        .target(name: "KeyVizFuzzTargets", dependencies: ["KeyViz", "KeyVizPrometheus", "KeyVizHTTPHandler", "KeyVizCluster", "KeyVizHTTP"]),
        .executableTarget(name: "keyviz-fuzz", dependencies: ["KeyVizFuzzTargets"]),
        // Test code shared by the test targets (a task executor with its own threads); no product.
        .target(name: "KeyVizTestSupport", path: "Tests/Support"),
        .testTarget(name: "KeyVizFuzzTargetsTests", dependencies: ["KeyVizFuzzTargets"]),
        .testTarget(name: "KeyVizTests", dependencies: ["KeyViz", "KeyVizTestKit"]),
        .testTarget(name: "KeyVizPrometheusTests", dependencies: ["KeyVizPrometheus", "KeyViz", "KeyVizTestKit", "ShardKV",
                                                                 .product(name: "Logging", package: "swift-log")], exclude: ["Golden"]),
        .testTarget(name: "KeyVizHTTPTests", dependencies: ["KeyVizHTTP", "CKeyVizMalloc", "KeyVizHTTPHandler", "KeyVizPrometheus", "KeyViz", "KeyVizTestKit", "ShardKV",
                                                           "KeyVizTestSupport",
                                                           .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "KeyVizClusterTests", dependencies: ["KeyVizCluster", "KeyVizHTTPHandler", "KeyVizHTTP", "KeyVizPrometheus", "KeyViz", "KeyVizTestKit",
                                                              "KeyVizTestSupport"]),
        .testTarget(name: "KeyVizMetricsTests", dependencies: ["KeyVizMetrics", "KeyVizPrometheus", "KeyViz", "KeyVizTestKit",
                                                              .product(name: "Metrics", package: "swift-metrics")]),
        .testTarget(name: "KeyVizServiceLifecycleTests", dependencies: ["KeyVizServiceLifecycle", "KeyVizHTTPServiceLifecycle", "KeyVizHTTP", "KeyVizPrometheus", "KeyViz", "KeyVizStateFile",
                                                                       "KeyVizTestKit", "KeyVizTestSupport",
                                                                       .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "KeyVizStateFileTests", dependencies: ["KeyVizStateFile", "KeyViz", "KeyVizTestKit",
                                                                .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ShardKVTests", dependencies: ["ShardKV", "KeyViz", "KeyVizTestKit"]),
    ],
    swiftLanguageModes: [.v6]
)

// Upcoming language features, as swift-log and Hummingbird use them: `any` spelled out for
// existentials, members visible only through a module the file imports, and imports internal
// unless a file says `public import` (what a module re-exposes is then explicit).
for target in package.targets where target.type != .system && !target.name.hasPrefix("C") {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
