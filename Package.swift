// swift-tools-version:6.0
// IRN: session-based recommendation by imagination reconstruction, trained by an
// asynchronous actor / parameter-server cluster over ZeroMQ.
import PackageDescription

let package = Package(
    name: "irn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "irn", targets: ["irn"]),
        .executable(name: "irn-server", targets: ["irn-server"]),
        .executable(name: "irn-actor", targets: ["irn-actor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: libzmq3-dev, libopenblas-dev, zlib1g-dev).
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // glibc's mallopt, for the cluster processes' allocator policy.
        .systemLibrary(name: "CMalloc"),

        // Shared small pieces: seeded RNG, stable hashing, atomic files, errors, progress.
        .target(name: "IRNSupport", dependencies: [.target(name: "CMalloc", condition: .when(platforms: [.linux]))]),
        // Sessions: YooChoose/TSV loading, preprocessing, binary store, synthetic shop, environment.
        .target(name: "IRNData", dependencies: ["IRNSupport", "CZlib"]),
        // C kernels Swift cannot vectorise itself (square roots in Adam), like swift-nio's C shims.
        .target(name: "CIRNKernels"),
        // Float32 tensors on OpenBLAS, the LSTM actor-critic, gradients, Adam, safetensors.
        .target(name: "IRNNumerics", dependencies: ["IRNSupport", "COpenBLAS", "CIRNKernels"]),
        // The one evaluator every model plugs into: ranks, Recall@K, MRR@K.
        .target(name: "IRNEvaluation", dependencies: ["IRNSupport", "IRNData"]),
        // POP, S-POP, BPR, session-kNN, GRU4Rec.
        .target(name: "IRNBaselines", dependencies: ["IRNSupport", "IRNData", "IRNNumerics", "IRNEvaluation"]),
        // A3C-F/P, IRN-F/P, PRN-P: compute-gradient and apply-gradient, single-process trainer.
        .target(name: "IRNAgents", dependencies: ["IRNSupport", "IRNData", "IRNNumerics", "IRNEvaluation"]),
        // Cluster: a thin Swift layer over libzmq, the wire format, the server and the actor.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ", "IRNSupport"]),
        .target(name: "IRNWire", dependencies: ["IRNSupport", "IRNNumerics"]),
        .target(name: "IRNServer", dependencies: [
            "IRNSupport", "IRNData", "IRNNumerics", "IRNAgents", "IRNEvaluation", "IRNWire", "ZeroMQ",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "IRNActor", dependencies: ["IRNSupport", "IRNData", "IRNNumerics", "IRNAgents", "IRNWire", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        // Serving the policy over HTTP (SwiftNIO's HTTP/1.1 codec): batched scoring, sessions, live weights.
        .target(name: "IRNServing", dependencies: [
            "IRNSupport", "IRNData", "IRNNumerics", "IRNEvaluation", "IRNBaselines", "IRNAgents",
            "IRNWire", "ZeroMQ", "CIRNKernels",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `irn fuzz`: structured fuzzing of the server's ZeroMQ ports and of HTTP ports.
        .target(name: "IRNFuzz", dependencies: ["IRNSupport", "IRNNumerics", "IRNWire", "ZeroMQ"]),
        // Command-line commands, one small type each; the executables below are thin shells.
        .target(name: "IRNCommands", dependencies: [
            "IRNSupport", "IRNData", "IRNNumerics", "IRNEvaluation", "IRNBaselines", "IRNAgents",
            "IRNWire", "IRNServer", "IRNActor", "ZeroMQ", "IRNServing", "IRNFuzz",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "irn", dependencies: ["IRNCommands"]),
        .executableTarget(name: "irn-server", dependencies: ["IRNCommands"]),
        .executableTarget(name: "irn-actor", dependencies: ["IRNCommands"]),

        .testTarget(name: "IRNSupportTests", dependencies: ["IRNSupport"]),
        .testTarget(name: "IRNDataTests", dependencies: ["IRNData", "IRNSupport"]),
        .testTarget(name: "IRNNumericsTests", dependencies: ["IRNNumerics", "IRNSupport"]),
        .testTarget(name: "IRNEvaluationTests", dependencies: ["IRNEvaluation", "IRNData"]),
        .testTarget(name: "IRNBaselinesTests", dependencies: ["IRNBaselines", "IRNEvaluation", "IRNData", "IRNNumerics"]),
        .testTarget(name: "IRNAgentsTests", dependencies: ["IRNAgents", "IRNData", "IRNNumerics", "IRNEvaluation"]),
        .testTarget(name: "IRNCommandsTests", dependencies: [
            "IRNCommands", "IRNAgents", "IRNData",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "IRNServingTests", dependencies: ["IRNServing", "CIRNKernels", "IRNWire", "ZeroMQ", "IRNEvaluation", "IRNData", "IRNNumerics", "IRNAgents", "IRNBaselines", "IRNSupport"]),
        .testTarget(name: "IRNClusterTests", dependencies: ["IRNWire", "IRNServer", "IRNActor", "ZeroMQ", "IRNNumerics", "IRNData", "IRNAgents", "IRNSupport"]),
    ]
)
