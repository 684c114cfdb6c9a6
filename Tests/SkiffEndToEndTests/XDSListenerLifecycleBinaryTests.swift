import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// Listeners come and go with LDS (issue 17): a pushed listener binds and serves, a push without it closes it, and
/// the other listener serves throughout.
@Suite(.serialized) struct XDSListenerLifecycleBinaryTests {
    /// `basic.json` (listener `ingress`), then `second-listener.json` (also `second`, an http_connection_manager with
    /// an inline route_config to service-b, on another port), then `basic.json` again.
    @Test func aPushedListenerServesAndAPushWithoutItClosesIt() throws {
        let secondPort = freePort()
        let rig = try XDSRig(extraVariables: ["SECOND_LISTENER_PORT": "\(secondPort)"])
        defer { rig.stop() }
        #expect(waitUntil(seconds: 30) { rig.get("/x") == "a /x 200" }, "\(rig.diagnostics)")
        #expect(waitUntil(seconds: 5) { rig.acked("listeners") == "1" })
        #expect(rig.type("LDS")?["resources"]?.int == 1)
        #expect(XDSRig.refuses(secondPort))

        // Version 2 adds listener `second`: it binds and routes everything to service-b (backend b).
        try rig.push(try XDSRig.fixture("second-listener.json"))
        #expect(
            waitUntil(seconds: 20) { rig.get("/y", port: secondPort) == "b /y 200" }, "\(rig.diagnostics)")
        #expect(waitUntil(seconds: 5) { rig.acked("listeners") == "2" && rig.type("LDS")?["resources"]?.int == 2 })
        #expect(rig.type("LDS")?["version"]?.stringValue == "2")
        #expect(rig.get("/x") == "a /x 200" && rig.get("/b/x") == "b /b/x 200")
        let both = try SkiffProcess.run(["ctl", "stats", "--socket", rig.socket])
        #expect(both.output.contains("second") && both.output.contains("ingress"), "\(both.output)")

        // Version 3 is basic.json again: `second` closes (new connections refused), `ingress` serves on.
        let v3 = try XDSRig.fixture("basic.json").replacing("\"version\": \"1\"", with: "\"version\": \"3\"")
        try rig.push(v3)
        #expect(waitUntil(seconds: 20) { XDSRig.refuses(secondPort) }, "\(rig.diagnostics)")
        #expect(waitUntil(seconds: 5) { rig.acked("listeners") == "3" && rig.type("LDS")?["resources"]?.int == 1 })
        #expect(rig.type("LDS")?["version"]?.stringValue == "3")
        #expect(rig.get("/x") == "a /x 200" && rig.get("/b/x") == "b /b/x 200")
        #expect(rig.get("/y", port: secondPort) == " 000")  // curl: nothing answered
        #expect(rig.waiting() == [:])
    }
}
