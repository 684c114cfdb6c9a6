// swift-tools-version:6.0
import PackageDescription

/// The hot path keeps Swift's exclusivity checks in debug builds (every test run has them) and drops the dynamic
/// ones in release, where `swift_beginAccess` on class properties cost a third of the instructions per proxied
/// request (callgrind, bench/RESULTS.md).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "skiff",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skiff", targets: ["skiff"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Linux syscalls Swift's Glibc module does not expose (epoll, eventfd, accept4, ucred).
        .target(
            name: "CSkiffLinux",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // ncursesw, for the console's terminal layer only (the console renders into a cell grid first).
        .systemLibrary(
            name: "CNCurses", path: "Sources/CNCurses", pkgConfig: "ncursesw", providers: [.apt(["libncursesw5-dev"])]),
        // The system OpenSSL 3 (libssl-dev), for TLS in SkiffNet; CSkiffTLS holds what Swift cannot call directly
        // (macros, the ticket-key callback and its state).
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "CSkiffTLS", dependencies: ["COpenSSL"]),
        // The systems layer under everything that touches the OS: the syscall door, the clock, threads, the condition
        // lock, the accept loop. SkiffNet re-exports it.
        .target(name: "SkiffSystem", dependencies: ["CSkiffLinux"], swiftSettings: hotPath),
        // NET/IO: sockets, buffers, write queues, both thread models, TLS as a transport under the connection.
        .target(
            name: "SkiffNet", dependencies: ["SkiffSystem", "CSkiffLinux", "COpenSSL", "CSkiffTLS"], swiftSettings: hotPath),
        // Codecs: HTTP/1.1 now; Bolt and Dubbo next. Pure byte parsing, no dependencies.
        .target(name: "SkiffProtocol", swiftSettings: hotPath),
        // JSON: the value, the strict parser (errors with line and column), the writer. No dependencies.
        .target(name: "SkiffJSON", swiftSettings: hotPath),
        // MOSN-compatible JSON configuration model, decoding and validation.
        .target(name: "SkiffConfig", dependencies: ["SkiffJSON"]),
        // Metrics primitives: histograms, the frame and event rings, the frame and event schema.
        .target(name: "SkiffTelemetry", dependencies: ["SkiffJSON", "SkiffSystem"], swiftSettings: hotPath),
        // Clusters, hosts, load balancers.
        .target(name: "SkiffUpstream", dependencies: ["SkiffConfig", "SkiffNet", "SkiffTelemetry"], swiftSettings: hotPath),
        // The control socket (NDJSON over a Unix socket), the admin HTTP server, Prometheus text.
        .target(name: "SkiffControl", dependencies: ["SkiffJSON", "SkiffConfig", "SkiffProtocol", "SkiffSystem", "CSkiffLinux"]),
        // Network filters: tcp_proxy (L4) and the L7 proxy (router, HTTP/1 streams).
        .target(
            name: "SkiffProxy", dependencies: ["SkiffNet", "SkiffUpstream", "SkiffConfig", "SkiffProtocol", "SkiffTelemetry"],
            swiftSettings: hotPath),
        // The console's pure half: cell grid, model of frames and events, views, key state machine.
        .target(name: "SkiffConsole", dependencies: ["SkiffJSON", "SkiffTelemetry"]),
        // Wires config to listeners and clusters; lifecycle.
        .target(
            name: "SkiffEngine",
            dependencies: [
                "SkiffNet", "SkiffJSON", "SkiffConfig", "SkiffUpstream", "SkiffProxy", "SkiffProtocol", "SkiffTelemetry",
                "SkiffControl", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "skiff",
            dependencies: [
                "SkiffEngine", "SkiffJSON", "SkiffConfig", "SkiffControl", "SkiffTelemetry", "SkiffNet", "CSkiffLinux",
                "SkiffConsole", "CNCurses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fuzz targets for the codecs and the config decoder: libFuzzer-driven when built by fuzz/run, a replayer
        // of saved inputs otherwise.
        .executableTarget(name: "skiff-fuzz", dependencies: ["SkiffProtocol", "SkiffJSON", "SkiffConfig", "CSkiffLinux"]),
        // Nanoseconds per parse and per route lookup, in release (bench/).
        .executableTarget(
            name: "skiff-microbench", dependencies: ["SkiffProtocol", "SkiffProxy", "SkiffConfig"], swiftSettings: hotPath),
        // Helpers shared by tests: free ports, echo servers, process runner.
        .target(name: "SkiffTestSupport", dependencies: ["SkiffNet", "CSkiffLinux"]),
        .testTarget(name: "SkiffJSONTests", dependencies: ["SkiffJSON"]),
        .testTarget(name: "SkiffConfigTests", dependencies: ["SkiffConfig", "SkiffJSON"]),
        .testTarget(name: "SkiffNetTests", dependencies: ["SkiffNet", "SkiffTestSupport"]),
        .testTarget(name: "SkiffProtocolTests", dependencies: ["SkiffProtocol"]),
        .testTarget(name: "SkiffProtocolRPCTests", dependencies: ["SkiffProtocol"]),
        .testTarget(name: "SkiffTelemetryTests", dependencies: ["SkiffTelemetry", "SkiffJSON"]),
        .testTarget(name: "SkiffSystemTests", dependencies: ["SkiffSystem"]),
        .testTarget(
            name: "SkiffControlTests", dependencies: ["SkiffControl", "SkiffConfig", "SkiffJSON", "SkiffProtocol", "SkiffSystem"]),
        .testTarget(name: "SkiffConsoleTests", dependencies: ["SkiffConsole", "SkiffTelemetry", "SkiffJSON"]),
        .testTarget(name: "SkiffRouterTests", dependencies: ["SkiffProxy", "SkiffConfig"]),
        .testTarget(name: "SkiffUpstreamTests", dependencies: ["SkiffUpstream", "SkiffConfig"]),
        .testTarget(
            name: "SkiffProxyTests",
            dependencies: ["SkiffProxy", "SkiffProtocol", "SkiffUpstream", "SkiffNet", "SkiffConfig", "SkiffTestSupport"]
        ),
        .testTarget(
            name: "SkiffEngineTests",
            dependencies: [
                "SkiffEngine", "SkiffUpstream", "SkiffConfig", "SkiffJSON", "SkiffTelemetry", "SkiffControl", "SkiffNet",
                "SkiffProtocol", "SkiffTestSupport",
            ]
        ),
        .testTarget(
            name: "SkiffEndToEndTests",
            dependencies: [
                "SkiffEngine", "SkiffProxy", "SkiffUpstream", "SkiffNet", "SkiffConfig", "SkiffJSON", "SkiffTestSupport",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
