// swift-tools-version: 6.0
// Instructions per observation on the hot path, counted by valgrind's callgrind: a number that
// repeats on a noisy machine where nanoseconds do not. A separate package (depending on the root
// by path) so KeyViz is called from another module, as a host calls it, and so the root's
// `swift test` never builds it. Run: python3 ../../scripts/check-instructions.py
import PackageDescription

let package = Package(
    name: "KeyVizInstructions",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "KeyViz", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "keyviz-instructions", dependencies: [
            .product(name: "KeyViz", package: "KeyViz"),
            .product(name: "KeyVizPrometheus", package: "KeyViz"),
            .product(name: "KeyVizTestKit", package: "KeyViz"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
