import Testing

@testable import SkiffConfig

/// Small JSON fragments to build configs in tests, so each bad case shows only what is wrong with it.
enum Fixture {
    /// A listener with a `tcp_proxy` to `c1`. `extra` is spliced in after the address (start it with a comma).
    static func tcpListener(
        _ name: String = "l0", _ address: String = "127.0.0.1:0", extra: String = "",
        config: String = #"{"cluster":"c1"}"#
    ) -> String {
        #"{"name":"\#(name)","address":"\#(address)"\#(extra),"filter_chains":[{"filters":[{"type":"tcp_proxy","config":\#(config)}]}]}"#
    }

    /// A listener with an L7 `proxy` filter whose config is `config`.
    static func proxyListener(
        _ name: String = "h0", _ address: String = "127.0.0.1:0", extra: String = "",
        config: String = #"{"downstream_protocol":"Http1","router_config_name":"r1"}"#
    ) -> String {
        #"{"name":"\#(name)","address":"\#(address)"\#(extra),"filter_chains":[{"filters":[{"type":"proxy","config":\#(config)}]}]}"#
    }

    static func cluster(
        _ name: String = "c1", extra: String = "", hosts: String = #"[{"address":"127.0.0.1:8080"}]"#
    ) -> String {
        #"{"name":"\#(name)"\#(extra),"hosts":\#(hosts)}"#
    }

    static let prefixRoute = #"{"match":{"prefix":"/"},"route":{"cluster_name":"c1"}}"#

    static func router(_ name: String = "r1", routes: [String] = [prefixRoute]) -> String {
        #"{"router_config_name":"\#(name)","virtual_hosts":[{"name":"vh","domains":["*"],"routers":[\#(routes.joined(separator: ","))]}]}"#
    }

    /// A whole config: one server with `listeners` and `routers`, and `clusters`. `server` and `top` are spliced
    /// into the server object and the top-level object (start them with a comma).
    static func config(
        listeners: [String] = [tcpListener()], routers: [String] = [], clusters: [String] = [cluster()],
        server: String = "", top: String = ""
    ) -> String {
        let r = routers.isEmpty ? "" : #","routers":[\#(routers.joined(separator: ","))]"#
        return
            #"{"servers":[{"listeners":[\#(listeners.joined(separator: ","))]\#(r)\#(server)}],"cluster_manager":{"clusters":[\#(clusters.joined(separator: ","))]}\#(top)}"#
    }

    /// A config with an HTTP listener, router `r1` with the given route entries, and clusters c1 and c2.
    static func routed(_ routes: [String]) -> String {
        config(
            listeners: [proxyListener()], routers: [router(routes: routes)],
            clusters: [cluster("c1"), cluster("c2", hosts: #"[{"address":"127.0.0.1:8081"}]"#)])
    }

    /// Path of the i-th route entry of `routed(...)`.
    static func routePath(_ i: Int = 0) -> String { "servers[0].routers[0].virtual_hosts[0].routers[\(i)]" }
}

/// Decodes and returns the error descriptions (empty when the config is valid).
func errorLines(_ json: String) -> [String] {
    do {
        _ = try ConfigDecoder.decode(json)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// Decodes a config that must be valid, failing the test with the errors otherwise.
func decodeValid(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> SkiffConfiguration? {
    do {
        return try ConfigDecoder.decode(json)
    } catch {
        Issue.record("unexpected errors:\n\(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// `configs/` at the worktree root, found from this file's path.
func configsDirectory() -> String {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    parts.removeLast(3)  // SkiffConfigTests/Fixtures.swift under Tests/
    return parts.joined(separator: "/") + "/configs"
}

/// A file of `Tests/Fixtures/xds`, found from this file's path.
func xdsFixture(_ name: String) -> String {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    parts.removeLast(2)  // SkiffConfigTests/Fixtures.swift under Tests/
    return parts.joined(separator: "/") + "/Fixtures/xds/" + name
}
