import Glibc
import SkiffJSON
import SkiffTestSupport

/// A Skiff driven by the test control plane: two HTTP backends (`a`, `b`), `Tests/peers/xds_server.py` serving a
/// resources file with their ports, and `skiff start` on a bootstrap that points at it. Tests rewrite the resources
/// (`replace`, then `push`) and look at both sides: the server's `/state` and `skiff ctl xds`.
final class XDSRig {
    let a: HTTPTestServer
    let b: HTTPTestServer
    let listenerPort = freePort()
    let dir = makeTempDirectory("xds-skiff")
    let resources: String
    var server: XDSTestServer
    var skiff: SkiffProcess!
    let socket: String
    var variables: [String: String]
    /// The admin API's port (`/metrics`, `/api/v1/stats`) when the rig was asked for one.
    let adminPort: Int?

    /// `fixture`: a file in Tests/Fixtures/xds; `initialFetchTimeout`: the bootstrap's, for LDS and CDS; `admin`:
    /// give the bootstrap an `admin` address (MOSN's key) on a free loopback port; `environment`: skiff's (e.g.
    /// `NOTIFY_SOCKET`).
    init(
        fixture: String = "basic.json", extraVariables: [String: String] = [:], initialFetchTimeout: String = "15s",
        admin: Bool = false, environment: [String: String] = [:]
    ) throws {
        adminPort = admin ? freePort() : nil
        a = try HTTPTestServer(name: "a")
        b = try HTTPTestServer(name: "b")
        socket = dir + "/skiff.sock"
        resources = dir + "/resources.json"
        let text = String(decoding: try readFile(XDSPeers.fixtures + "/" + fixture), as: UTF8.self)
        try Self.replaceFile(resources, with: text)
        variables = ["LISTENER_PORT": "\(listenerPort)", "BACKEND_A_PORT": "\(a.port)", "BACKEND_B_PORT": "\(b.port)"]
        variables.merge(extraVariables) { $1 }
        server = try XDSTestServer(resources: resources, variables: variables)
        let bootstrap = Self.bootstrap(
            xdsPort: server.grpcPort, initialFetchTimeout: initialFetchTimeout, adminPort: adminPort)
        let config = dir + "/skiff.json"
        try Self.replaceFile(config, with: bootstrap)
        skiff = try SkiffProcess(["start", "-c", config, "--control-socket", socket], environment: environment)
    }

    /// Issue 17's bootstrap with the control plane's port (and the initial-fetch timeout) filled in, and an `admin`
    /// address when `adminPort` is given.
    static func bootstrap(xdsPort: Int, initialFetchTimeout: String, adminPort: Int? = nil) -> String {
        let admin = adminPort.map {
            "\"admin\": {\"address\": {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": \($0)}}},\n "
        } ?? ""
        let source = "{\"ads\": {}, \"resource_api_version\": \"V3\", \"initial_fetch_timeout\": \"\(initialFetchTimeout)\"}"
        return """
            {\(admin)"node": {"id": "skiff-1", "cluster": "web"},
             "dynamic_resources": {"ads_config": {"api_type": "GRPC", "transport_api_version": "V3",
                 "grpc_services": [{"envoy_grpc": {"cluster_name": "xds"}}]},
               "lds_config": \(source), "cds_config": \(source)},
             "static_resources": {"clusters": [{"name": "xds", "type": "STATIC", "connect_timeout": "1s",
               "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                 "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                 "explicit_http_config": {"http2_protocol_options": {}}}},
               "load_assignment": {"cluster_name": "xds", "endpoints": [{"lb_endpoints": [{"endpoint": {"address":
                 {"socket_address": {"address": "127.0.0.1", "port_value": \(xdsPort)}}}}]}]}}]}}
            """
    }

    /// `"<backend name> <path it saw> <status>"`, or what curl printed.
    func get(_ path: String, port: Int? = nil) -> String {
        let r = try? SkiffProcess.runCommand(
            "curl", ["-s", "-m", "5", "-w", " %{http_code}", "http://127.0.0.1:\(port ?? listenerPort)\(path)"],
            timeoutSeconds: 10)
        return r?.output ?? ""
    }

    /// `skiff ctl xds --json`'s `xds` object.
    func xds() -> JSONValue? { Self.ctlXDS(socket: socket) }

    /// `skiff ctl xds --json --socket <socket>`'s `xds` object, of any skiff.
    static func ctlXDS(socket: String) -> JSONValue? {
        guard let r = try? SkiffProcess.run(["ctl", "xds", "--json", "--socket", socket]), r.status == 0,
            let line = r.output.split(separator: "\n").first(where: { $0.hasPrefix("{") }),
            let json = try? JSONParser.parse(String(line))
        else { return nil }
        return json["xds"]
    }

    /// One type (`CDS`, `EDS`, `LDS`, `RDS`) of `skiff ctl xds`.
    func type(_ t: String) -> JSONValue? { xds()?["types"]?.arrayValue.first { $0["type"]?.stringValue == t } }

    /// Skiff's stream as the control plane sees it (the newest with node id skiff-1).
    func stream() -> JSONValue? {
        guard let state = try? server.control("GET", "/state"), let json = try? JSONParser.parse(state.body) else {
            return nil
        }
        return json["streams"]?.arrayValue.last { $0["node"]?["id"]?.stringValue == "skiff-1" }
    }

    /// The version the control plane saw ACKed for `type` (`listeners`, `routes`, `clusters`, `endpoints`).
    func acked(_ type: String) -> String? {
        guard let t = stream()?["types"]?[type], t["acked"]?.boolValue == true else { return nil }
        return t["version_acked"]?.stringValue
    }

    /// Rewrites the resources file and has the control plane push it.
    func push(_ text: String) throws {
        try Self.replaceFile(resources, with: text)
        let r = try server.control("POST", "/push")
        guard r.status == 200 else { throw TestError("push: \(r.status) \(r.body)") }
    }

    var fixtureText: String { String(decoding: (try? readFile(resources)) ?? [], as: UTF8.self) }

    var diagnostics: String { "skiff:\n\(skiff.output)\nxds server:\n\(server.process.output)" }

    func stop() {
        _ = skiff?.stop()
        server.stop()
        a.stop()
        b.stop()
        removeTree(dir)
    }

    /// Writes `text` to `path` whole (a temporary file renamed over it), so the server's watcher never reads half.
    static func replaceFile(_ path: String, with text: String) throws {
        let temp = try writeTempFile(text)
        guard rename(temp, path) == 0 else { throw TestError("rename \(temp) \(path): \(errno)") }
    }
}
