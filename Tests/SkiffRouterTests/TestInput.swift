import SkiffConfig
import SkiffProxy

/// Bytes with a stable address for as long as the object lives (a `RouteInput` hands out raw pointers).
final class ByteStore {
    private let base: UnsafeMutableRawPointer
    let count: Int

    init(_ bytes: [UInt8]) {
        count = bytes.count
        base = .allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { if let src = $0.baseAddress { base.copyMemory(from: src, byteCount: $0.count) } }
    }

    deinit { base.deallocate() }

    var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// A request for the router, built from Swift strings (tests may allocate). Header names match case-insensitively,
/// as an HTTP head's do.
struct TestInput: RouteInput {
    private let hostBytes: ByteStore?
    private let pathBytes: ByteStore?
    private let headerList: [(name: [UInt8], value: ByteStore)]

    init(host: String? = nil, path: String? = nil, headers: [(String, String)] = []) {
        hostBytes = host.map { ByteStore(Array($0.utf8)) }
        pathBytes = path.map { ByteStore(Array($0.utf8)) }
        headerList = headers.map { (Array($0.0.lowercased().utf8), ByteStore(Array($0.1.utf8))) }
    }

    var host: UnsafeRawBufferPointer? { hostBytes?.raw }
    var path: UnsafeRawBufferPointer? { pathBytes?.raw }

    func header(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        headerList.first { $0.name.elementsEqual(lowercaseName) }?.value.raw
    }
}

extension RouteTable {
    /// `route(_:)` for a request built from strings.
    func route(host: String? = nil, path: String? = nil, headers: [(String, String)] = []) -> RouteEntry? {
        let input = TestInput(host: host, path: path, headers: headers)
        return withExtendedLifetime(input) { route(input) }
    }

    /// Name of the virtual host a request with `host` goes to.
    func virtualHostName(host: String?) -> String? {
        let store = host.map { ByteStore(Array($0.utf8)) }
        return withExtendedLifetime(store) { virtualHostIndex(host: store?.raw).map { virtualHostNames[$0] } }
    }
}

extension RouteEntry {
    /// The single cluster, or nil for other actions.
    var clusterName: String? {
        if case .cluster(let name) = action { return name }
        return nil
    }
}

/// A virtual host whose one route sends everything to a cluster named like the virtual host.
func catchAllHost(_ name: String, _ domains: [String]) -> VirtualHostConfig {
    VirtualHostConfig(
        name: name, domains: domains,
        routes: [
            RouteConfig(match: RouteMatchConfig(prefix: "/"), action: .route(RouteTargetConfig(clusterName: name)))
        ]
    )
}

/// A route to `cluster` on `match`.
func route(_ match: RouteMatchConfig, to cluster: String) -> RouteConfig {
    RouteConfig(match: match, action: .route(RouteTargetConfig(clusterName: cluster)))
}

/// A router with one `*` virtual host holding `routes`.
func singleHostTable(_ routes: [RouteConfig], name: String = "r") throws -> RouteTable {
    try RouteTable(
        config: RouterConfig(name: name, virtualHosts: [VirtualHostConfig(name: "any", domains: ["*"], routes: routes)])
    )
}
