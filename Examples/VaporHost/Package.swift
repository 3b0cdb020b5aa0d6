// swift-tools-version: 6.1
// A Vapor 4 app that embeds KeyViz: a tiny key-value API of its own through a ShardKV
// coordinator, KeyViz mounted on its routes by the KeyVizVapor adapter (the KeyViz package's
// Vapor trait), a flusher task, and a clean stop on SIGTERM. CI: scripts/check-vapor-host.sh.
import PackageDescription

let package = Package(
    name: "VaporHost",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "KeyViz", path: "../..", traits: ["Vapor"]),
        .package(url: "https://github.com/vapor/vapor", from: "4.122.3"),
    ],
    targets: [
        .executableTarget(name: "VaporHost", dependencies: [
            .product(name: "KeyVizVapor", package: "KeyViz"),   // the adapter: the handler only, no libmicrohttpd, no C
            .product(name: "KeyViz", package: "KeyViz"),
            .product(name: "KeyVizHTTPHandler", package: "KeyViz"),
            .product(name: "KeyVizPrometheus", package: "KeyViz"),
            .product(name: "ShardKV", package: "KeyViz"),
            .product(name: "Vapor", package: "vapor"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
