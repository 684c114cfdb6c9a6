import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// Proves the test control plane (`Tests/peers/xds_server.py`) against real Envoy before Skiff's own xDS client is
/// judged by it: Envoy bootstraps from `Tests/Fixtures/xds/envoy-bootstrap.json` (ADS, LDS and CDS over ADS), takes
/// `basic.json` (a listener with RDS, a route configuration, two EDS clusters and their endpoints) and routes to the
/// backends; a pushed change (an endpoint moved, a route added) is followed and ACKed; an invalid regex is NACKed
/// with the old routes kept; dropping the streams makes Envoy reconnect and resubscribe. Skips when Envoy is missing.
@Suite(.serialized) struct XDSServerEnvoyBinaryTests {
    @Test(.enabled(if: XDSPeers.envoy != nil, "no Envoy binary; install it with \(XDSPeers.envoyInstallHint)"))
    func envoyFollowsTheTestControlPlane() throws {
        let envoyBinary = try #require(XDSPeers.envoy)
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let b = try HTTPTestServer(name: "b")
        defer { b.stop() }
        let listenerPort = freePort()
        let adminPort = freePort()

        let fixture = String(decoding: try readFile(XDSPeers.fixtures + "/basic.json"), as: UTF8.self)
        let dir = makeTempDirectory("xds")
        defer { removeTree(dir) }
        let resources = dir + "/resources.json"
        try replaceFile(resources, with: fixture)
        let server = try XDSTestServer(
            resources: resources,
            variables: ["LISTENER_PORT": "\(listenerPort)", "BACKEND_A_PORT": "\(a.port)", "BACKEND_B_PORT": "\(b.port)"])
        defer { server.stop() }

        let bootstrap = String(decoding: try readFile(XDSPeers.fixtures + "/envoy-bootstrap.json"), as: UTF8.self)
            .replacing("\"${ADMIN_PORT}\"", with: "\(adminPort)").replacing("\"${XDS_PORT}\"", with: "\(server.grpcPort)")
        let bootstrapPath = dir + "/envoy.json"
        try replaceFile(bootstrapPath, with: bootstrap)
        let envoy = try SkiffProcess(
            executable: envoyBinary,
            ["-c", bootstrapPath, "--disable-hot-restart", "--concurrency", "1", "-l", "warning"])
        defer { envoy.stop() }

        func get(_ path: String) -> String {
            let r = try? SkiffProcess.runCommand(
                "curl", ["-s", "-m", "5", "-w", " %{http_code}", "http://127.0.0.1:\(listenerPort)\(path)"],
                timeoutSeconds: 10)
            return r?.output ?? ""
        }
        func envoyStream() -> JSONValue? {
            guard let state = try? server.control("GET", "/state"),
                let json = try? JSONParser.parse(state.body)
            else { return nil }
            return json["streams"]?.arrayValue.last { $0["node"]?["id"]?.stringValue == "envoy-1" }
        }
        func acked(_ stream: JSONValue?, _ type: String) -> String? {
            guard let t = stream?["types"]?[type], t["acked"]?.boolValue == true else { return nil }
            return t["version_acked"]?.stringValue
        }

        // Version 1: "/" goes to service-a (backend a), "/b/" to service-b (backend b).
        #expect(waitUntil(seconds: 30) { get("/x") == "a /x 200" }, "envoy: \(envoy.output)\nxds: \(server.process.output)")
        #expect(get("/b/x") == "b /b/x 200")
        let first = envoyStream()
        for type in ["listeners", "routes", "clusters", "endpoints"] {
            #expect(acked(first, type) == "1", "\(type): \(String(describing: first?["types"]?[type]))")
        }
        #expect(first?["node"]?["cluster"]?.stringValue == "web")
        #expect(first?["types"]?["routes"]?["subscribed"]?.arrayValue.compactMap(\.stringValue) == ["local_route"])
        #expect(first?["types"]?["listeners"]?["subscribed"]?.arrayValue.compactMap(\.stringValue) == ["*"])

        // Version 2 (the file rewritten, then POST /push): service-a's endpoint moves to backend b, and a new route
        // /new/ goes to service-b with its prefix rewritten.
        let v2 = fixture.replacing("\"version\": \"1\"", with: "\"version\": \"2\"")
            .replacing(
                "\"port_value\": \"${BACKEND_A_PORT}\"", with: "\"port_value\": \"${BACKEND_B_PORT}\""
            )
            .replacing(
                "{\"match\": {\"prefix\": \"/b/\"}",
                with: "{\"match\": {\"prefix\": \"/new/\"}, \"route\": {\"cluster\": \"service-b\", \"prefix_rewrite\": \"/rewritten/\"}},\n"
                    + "            {\"match\": {\"prefix\": \"/b/\"}")
        #expect(v2.contains("/rewritten/") && !v2.contains("${BACKEND_A_PORT}"))
        try replaceFile(resources, with: v2)
        let pushed = try server.control("POST", "/push")
        #expect(pushed.status == 200 && pushed.body.contains("\"2\""), "\(pushed.body)")
        #expect(waitUntil(seconds: 20) { get("/x") == "b /x 200" && get("/new/x") == "b /rewritten/x 200" })
        #expect(waitUntil(seconds: 10) { acked(envoyStream(), "routes") == "2" && acked(envoyStream(), "endpoints") == "2" })
        // Listeners and clusters did not change: they keep version 1 and get nothing new.
        let second = envoyStream()
        #expect(second?["types"]?["listeners"]?["version_sent"]?.stringValue == "1")
        #expect(second?["types"]?["clusters"]?["version_sent"]?.stringValue == "1")

        // Version 3 through POST /resources: a route with an invalid RE2 regex. Envoy NACKs it and keeps version 2.
        let v3 = v2.replacing("\"version\": \"2\"", with: "\"version\": \"3\"")
            .replacing(
                "{\"match\": {\"prefix\": \"/new/\"}",
                with: "{\"match\": {\"safe_regex\": {\"regex\": \"(unclosed\"}}, \"route\": {\"cluster\": \"service-a\"}},\n"
                    + "            {\"match\": {\"prefix\": \"/new/\"}")
        let posted = try server.control("POST", "/resources", body: v3)
        #expect(posted.status == 200, "\(posted.body)")
        #expect(
            waitUntil(seconds: 10) { (envoyStream()?["types"]?["routes"]?["nacks"]?.int ?? 0) >= 1 },
            "\(server.process.output)")
        let nacked = envoyStream()?["types"]?["routes"]
        #expect(nacked?["version_sent"]?.stringValue == "3")
        #expect(nacked?["version_acked"]?.stringValue == "2")
        #expect(nacked?["last_nack"]?["rejected_version"]?.stringValue == "3")
        let nackError = nacked?["nack_error"]?.stringValue ?? ""
        #expect(nackError.count > 0, "\(String(describing: nacked))")
        #expect(get("/new/x") == "b /rewritten/x 200")

        // A control plane "restart": every stream ends; Envoy reconnects, says which versions it has, and
        // resubscribes; it still serves version 2 throughout.
        let firstID = envoyStream()?["id"]?.int
        let stopped = try server.control("POST", "/stop-streams")
        #expect(stopped.status == 200 && stopped.body.contains("\"stopped\": 1"), "\(stopped.body)")
        #expect(waitUntil(seconds: 20) {
            let s = envoyStream()
            return s?["id"]?.int != firstID && acked(s, "endpoints") == "2" && acked(s, "clusters") == "1"
        }, "\(server.process.output)")
        let resumed = envoyStream()
        #expect(resumed?["types"]?["endpoints"]?["version_on_connect"]?.stringValue == "2")
        #expect(get("/x") == "b /x 200" && get("/b/x") == "b /b/x 200")
        print(
            "xds: envoy routed v1 and v2, ACKed routes/endpoints 2, NACKed routes 3 (\(nackError)), "
                + "resumed stream \(resumed?["id"]?.int ?? -1) after stream \(firstID ?? -1)")

        #expect(server.stop() == 0, "\(server.process.output)")
        #expect(envoy.stop() == 0, "\(envoy.output)")
    }

    /// Writes `text` to `path` whole (a temporary file renamed over it), so the server's watcher never reads half.
    private func replaceFile(_ path: String, with text: String) throws {
        let temp = try writeTempFile(text)
        guard rename(temp, path) == 0 else { throw TestError("rename \(temp) \(path): \(errno)") }
    }
}
