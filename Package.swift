// swift-tools-version:6.0
import PackageDescription

/// Layers, bottom up:
///   C modules (one per C library, each imported by exactly one Swift target)
///   UNetCore   pure Swift: tensors, errors, small shared value types
///   UNetEngine model, checkpoint readers/writers, forward pass (imports CBLAS, CKernels)
///   SlideIO    TIFF regions in, PNG rows out (imports CTIFF, CPNG)
///   Segmentation  slide → tiles → engine → blended stitch → mask/overlay/summary
///   Training   datasets, augmentation, training loop, checkpoints, evaluation
///   ControlProtocol  JSON types shared by unetd and unetctl; ControlClient  HTTP over a Unix socket
///   DaemonKit  watcher, spool, job store, processor, model registry, control server, systemd (imports CSystemd)
///   unet       thin command-line front end
let package = Package(
    name: "unetd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "unet", targets: ["unet"]),
        .executable(name: "unetd", targets: ["unetd"]),
        .executable(name: "unetctl", targets: ["unetctl"]),
        .library(name: "UNetEngine", targets: ["UNetEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // C libraries. Each is imported by exactly one Swift target so no other code sees C types.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // libtiff and libpng report errors through va_list callbacks and longjmp: tiny C shims catch them.
        .target(name: "CTIFF", linkerSettings: [.linkedLibrary("tiff")]),
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("isal")]),  // ISA-L deflates its IDAT
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The engine's own SIMD kernels: each instruction set is a function attribute and the path is
        // chosen at run time, so no -m flag ties the binary to the build machine. Always optimised:
        // at -O0 the vector code would be too slow even for debug-build tests.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        .target(name: "UNetCore"),
        .target(
            name: "UNetEngine",
            dependencies: [
                "UNetCore", "CBLAS", "CKernels",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "SlideIO", dependencies: ["UNetCore", "CTIFF", "CPNG"]),
        .target(
            name: "Segmentation",
            dependencies: ["UNetCore", "UNetEngine", "SlideIO"]
        ),
        .target(
            name: "Training",
            dependencies: ["UNetCore", "UNetEngine", "SlideIO", "Segmentation"]
        ),
        .target(name: "DefaultModel", dependencies: ["UNetEngine"], resources: [.copy("Resources/default-model.safetensors")]),
        .target(name: "WebAssets", resources: [.copy("Resources/web")]),
        .executableTarget(
            name: "unet",
            dependencies: [
                "UNetEngine", "UNetCore", "SlideIO", "Segmentation", "Training", "DefaultModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .target(name: "ControlProtocol"),
        .target(name: "ControlClient", dependencies: ["ControlProtocol"]),
        .target(
            name: "DaemonKit",
            dependencies: [
                "UNetCore", "UNetEngine", "SlideIO", "Segmentation", "DefaultModel", "WebAssets", "ControlProtocol", "ControlClient",
                "CSystemd", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "unetd",
            dependencies: ["DaemonKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "unetctl",
            dependencies: ["ControlClient", "ControlProtocol", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "UNetCoreTests", dependencies: ["TestSupport", "UNetCore"]),
        .testTarget(name: "UNetEngineTests", dependencies: ["TestSupport", "UNetEngine", "UNetCore"]),
        .testTarget(name: "SlideIOTests", dependencies: ["TestSupport", "SlideIO", "UNetCore"]),
        .testTarget(name: "SegmentationTests", dependencies: ["TestSupport", "Segmentation", "SlideIO", "UNetEngine", "UNetCore"]),
        .testTarget(name: "DaemonTests", dependencies: [
            "TestSupport", "ControlClient", "ControlProtocol", "DaemonKit", "SlideIO", "UNetCore",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "TrainingTests", dependencies: ["TestSupport", "Training", "Segmentation", "SlideIO", "UNetEngine", "UNetCore"]),
    ]
)

// libFuzzer harnesses for the parsers of untrusted files, built only by scripts/fuzz.sh
// (UNET_FUZZ=1, scratch path .build-fuzz, -sanitize=fuzzer,address). A harness is one file in
// Tests/Fuzz/<Name>/ defining LLVMFuzzerTestOneInput; a new one needs one entry here.
if Context.environment["UNET_FUZZ"] != nil {
    let fuzzHarnesses: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzTIFF", ["SlideIO"]),
        ("FuzzPTH", ["UNetEngine", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        ("FuzzSafeTensors", ["UNetEngine", "UNetCore"]),
        ("FuzzTruth", ["Segmentation", "SlideIO"]),
        ("FuzzControl", ["DaemonKit", "ControlProtocol", .product(name: "Hummingbird", package: "hummingbird"),
                         .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Prometheus", package: "swift-prometheus")]),
    ]
    package.targets += fuzzHarnesses.map { .executableTarget(name: $0.name, dependencies: $0.dependencies, path: "Tests/Fuzz/\($0.name)") }
}
