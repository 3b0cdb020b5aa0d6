// swift-tools-version: 6.0
// A host application that embeds KeyViz the way the README shows: its main.swift holds the
// README's integration snippet verbatim (scripts/check-readme-snippet.py compares them), and CI
// builds it as a separate package, runs it and scrapes its /metrics.
import PackageDescription

let package = Package(
    name: "MinimalHost",
    platforms: [.macOS(.v15)],
    dependencies: [
        // In your host: .package(url: "https://github.com/<owner>/keyviz-swift", from: "...")
        .package(name: "KeyViz", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "MinimalHost", dependencies: [
            .product(name: "KeyViz", package: "KeyViz"),
            .product(name: "KeyVizPrometheus", package: "KeyViz"),
            .product(name: "KeyVizHTTP", package: "KeyViz"),
            .product(name: "ShardKV", package: "KeyViz"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
