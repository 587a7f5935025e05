// swift-tools-version:6.0
import PackageDescription

/// Layers, bottom up:
///   C modules (one per C library, each imported by exactly one Swift target)
///   UNetCore   pure Swift: tensors, errors, small shared value types
///   UNetEngine model, checkpoint readers/writers, forward pass (imports CBLAS)
///   unet       thin command-line front end
let package = Package(
    name: "unetd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "unet", targets: ["unet"]),
        .library(name: "UNetEngine", targets: ["UNetEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C libraries. Each is imported by exactly one Swift target so no other code sees C types.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),

        .target(name: "UNetCore"),
        .target(
            name: "UNetEngine",
            dependencies: [
                "UNetCore", "CBLAS",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "unet",
            dependencies: [
                "UNetEngine", "UNetCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "UNetCoreTests", dependencies: ["UNetCore"]),
        .testTarget(name: "UNetEngineTests", dependencies: ["UNetEngine", "UNetCore"]),
    ]
)
