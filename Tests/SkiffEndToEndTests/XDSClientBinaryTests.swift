import Glibc
import SkiffJSON
import SkiffNet
import SkiffTestSupport
import Testing

/// Skiff configured by a control plane (issue 17): `skiff start` on issue 17's bootstrap, pointed at the test ADS
/// server (`Tests/peers/xds_server.py`, which real Envoy follows in `XDSServerEnvoyBinaryTests`), serving
/// `Tests/Fixtures/xds/basic.json`.
@Suite(.serialized) struct XDSClientBinaryTests {
    /// From nothing to serving; a pushed change followed; an invalid regex NACKed with the old routes kept; the
    /// streams dropped and the control plane restarted, with the last config serving throughout.
    @Test func servesFollowsNacksAndOutlivesTheControlPlane() throws {
        let rig = try XDSRig()
        defer { rig.stop() }

        // Version 1: "/" goes to service-a (backend a), "/b/" to service-b (backend b). The first request is routed
        // (the listener bound only once its routes and endpoints were there).
        #expect(waitUntil(seconds: 30) { rig.get("/x") == "a /x 200" }, "\(rig.diagnostics)")
        #expect(rig.get("/b/x") == "b /b/x 200")
        for type in ["listeners", "routes", "clusters", "endpoints"] {
            #expect(waitUntil(seconds: 5) { rig.acked(type) == "1" }, "\(type): \(String(describing: rig.stream()))")
        }
        #expect(rig.stream()?["node"]?["cluster"]?.stringValue == "web")
        #expect(rig.stream()?["types"]?["routes"]?["subscribed"]?.arrayValue.compactMap(\.stringValue) == ["local_route"])
        let status = try #require(rig.xds())
        #expect(status["connected"]?.boolValue == true)
        #expect(rig.type("LDS")?["version"]?.stringValue == "1" && rig.type("LDS")?["resources"]?.int == 1)
        #expect(rig.type("EDS")?["names"]?.arrayValue.compactMap(\.stringValue) == ["service-a", "service-b"])
        let table = try SkiffProcess.run(["ctl", "xds", "--socket", rig.socket])
        #expect(table.output.contains("control plane 127.0.0.1:\(rig.server.grpcPort): connected"), "\(table.output)")

        // Version 2: service-a's endpoint moves to backend b, and a new route /new/ goes to service-b rewritten.
        let v1 = rig.fixtureText
        let v2 = v1.replacing("\"version\": \"1\"", with: "\"version\": \"2\"")
            .replacing("\"port_value\": \"${BACKEND_A_PORT}\"", with: "\"port_value\": \"${BACKEND_B_PORT}\"")
            .replacing(
                "{\"match\": {\"prefix\": \"/b/\"}",
                with: "{\"match\": {\"prefix\": \"/new/\"}, \"route\": {\"cluster\": \"service-b\", \"prefix_rewrite\": \"/rewritten/\"}},\n"
                    + "            {\"match\": {\"prefix\": \"/b/\"}")
        try rig.push(v2)
        #expect(waitUntil(seconds: 20) { rig.get("/x") == "b /x 200" && rig.get("/new/x") == "b /rewritten/x 200" }, "\(rig.diagnostics)")
        #expect(waitUntil(seconds: 10) { rig.acked("routes") == "2" && rig.acked("endpoints") == "2" })

        // Version 3: a route with an invalid regex. Skiff NACKs RDS naming the field, and keeps version 2's routes.
        let v3 = v2.replacing("\"version\": \"2\"", with: "\"version\": \"3\"")
            .replacing(
                "{\"match\": {\"prefix\": \"/new/\"}",
                with: "{\"match\": {\"safe_regex\": {\"regex\": \"(unclosed\"}}, \"route\": {\"cluster\": \"service-a\"}},\n"
                    + "            {\"match\": {\"prefix\": \"/new/\"}")
        try rig.push(v3)
        #expect(waitUntil(seconds: 10) { (rig.stream()?["types"]?["routes"]?["nacks"]?.int ?? 0) >= 1 }, "\(rig.diagnostics)")
        let nacked = rig.stream()?["types"]?["routes"]
        #expect(nacked?["version_acked"]?.stringValue == "2")
        let serverSide = nacked?["nack_error"]?.stringValue ?? ""
        #expect(serverSide.contains("route_configuration \"local_route\"") && serverSide.contains("safe_regex"), "\(serverSide)")
        let rds = rig.type("RDS")
        #expect(rds?["version"]?.stringValue == "2" && rds?["nacks"]?.int == 1 && rds?["last"]?.stringValue == "nack")
        #expect(rds?["last_error"]?.stringValue == serverSide)
        #expect(rig.get("/new/x") == "b /rewritten/x 200")
        let events = try SkiffProcess.run(["ctl", "events", "--kind", "xds.", "--socket", rig.socket])
        for kind in ["xds.connected", "xds.ack", "xds.nack"] { #expect(events.output.contains(kind), "\(events.output)") }

        // The streams dropped: Skiff reconnects, says which versions it has, and serves version 2 throughout.
        let firstID = rig.stream()?["id"]?.int
        _ = try rig.server.control("POST", "/stop-streams")
        #expect(waitUntil(seconds: 20) { rig.stream()?["id"]?.int != firstID && rig.acked("endpoints") == "2" }, "\(rig.diagnostics)")
        #expect(rig.stream()?["types"]?["endpoints"]?["version_on_connect"]?.stringValue == "2")
        #expect((rig.xds()?["connects"]?.int ?? 0) >= 2)

        // The control plane goes away: Skiff keeps serving version 2 and says it is disconnected; a new control plane
        // on the same port (with version 2) gets a stream again.
        let port = rig.server.grpcPort
        rig.server.stop()
        #expect(waitUntil(seconds: 10) { rig.xds()?["connected"]?.boolValue == false })
        #expect(rig.get("/x") == "b /x 200" && rig.get("/new/x") == "b /rewritten/x 200")
        try XDSRig.replaceFile(rig.resources, with: v2)  // what the new control plane reads
        rig.server = try XDSTestServer(resources: rig.resources, variables: rig.variables, grpcPort: port)
        #expect(waitUntil(seconds: 30) { rig.xds()?["connected"]?.boolValue == true && rig.acked("listeners") == "2" }, "\(rig.diagnostics)")
        #expect(rig.get("/x") == "b /x 200")
        let events2 = try SkiffProcess.run(["ctl", "events", "--kind", "xds.disconnected", "--socket", rig.socket])
        #expect(events2.output.contains("xds.disconnected"), "\(events2.output)")
    }
}
