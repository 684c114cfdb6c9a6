import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// NACKs of features Skiff does not support (issue 17): the type keeps its previous version and traffic its
/// previous routing; the error, the same on both sides, names the resource and the field; a good version after
/// it is ACKed.
@Suite(.serialized) struct XDSNackBinaryTests {
    static let serviceA = "\"name\": \"service-a\",\n      \"type\": \"EDS\",\n      \"connect_timeout\": \"1s\",\n      \"lb_policy\": \"ROUND_ROBIN\""
    static let rds = """
        "rds": {
                          "route_config_name": "local_route",
                          "config_source": {"ads": {}, "resource_api_version": "V3"}
                        },
        """
    /// An inline route configuration sending everything to service-b: a listener that takes it routes /x to b.
    static let inlineToB =
        "\"route_config\": {\"name\": \"inline_b\", \"virtual_hosts\": [{\"name\": \"all\", \"domains\": [\"*\"], "
        + "\"routes\": [{\"match\": {\"prefix\": \"/\"}, \"route\": {\"cluster\": \"service-b\"}}]}]},"
    static let filtersOpen = "\"http_filters\": [\n"
    static let cors =
        "{\"name\": \"envoy.filters.http.cors\", \"typed_config\": "
        + "{\"@type\": \"type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors\"}},\n"

    /// CDS: service-a with lb_policy RING_HASH is NACKed, then LEAST_REQUEST ACKed. LDS: the listener with an inline
    /// route to service-b and a CORS filter before the router is NACKed (/x still goes to a), then the same without
    /// the filter is ACKed (/x goes to b).
    @Test func unsupportedFeaturesAreNackedAndTheOldStateServes() throws {
        let rig = try XDSRig()
        defer { rig.stop() }
        #expect(waitUntil(seconds: 30) { rig.get("/x") == "a /x 200" }, "\(rig.diagnostics)")
        #expect(waitUntil(seconds: 5) { rig.acked("clusters") == "1" && rig.acked("listeners") == "1" })
        let v1 = rig.fixtureText
        #expect(v1.contains(Self.serviceA) && v1.contains(Self.rds) && v1.contains(Self.filtersOpen))
        func version(_ v: Int, from text: String) -> String {
            text.replacing(#/"version": "[0-9]+"/#, with: "\"version\": \"\(v)\"")
        }

        // Version 2: RING_HASH. NACKed; CDS stays at 1 and traffic as it was.
        let ringHash = Self.serviceA.replacing("ROUND_ROBIN", with: "RING_HASH")
        try rig.push(version(2, from: v1.replacing(Self.serviceA, with: ringHash)))
        let cds = try nack("clusters", "CDS", rig, acked: "1", naming: ["cluster \"service-a\"", "lb_policy", "RING_HASH"])
        #expect(rig.get("/x") == "a /x 200" && rig.get("/b/x") == "b /b/x 200")

        // Version 3: LEAST_REQUEST is supported: ACKed.
        let v3 = version(3, from: v1.replacing(Self.serviceA, with: Self.serviceA.replacing("ROUND_ROBIN", with: "LEAST_REQUEST")))
        try rig.push(v3)
        #expect(waitUntil(seconds: 10) { rig.acked("clusters") == "3" }, "\(rig.diagnostics)")
        #expect(rig.type("CDS")?["version"]?.stringValue == "3" && rig.type("CDS")?["last"]?.stringValue == "ack")
        #expect(rig.type("CDS")?["last_error"]?.stringValue == "")
        #expect(rig.get("/x") == "a /x 200")

        // Version 4: the listener routes inline to service-b, behind a CORS filter. NACKed: /x still goes to a.
        let inline = v3.replacing(Self.rds, with: Self.inlineToB)
        try rig.push(version(4, from: inline.replacing(Self.filtersOpen, with: Self.filtersOpen + Self.cors)))
        let lds = try nack(
            "listeners", "LDS", rig, acked: "1",
            naming: ["listener \"ingress\"", "http_filters[0]", "envoy.filters.http.cors"])
        #expect(rig.get("/x") == "a /x 200" && rig.get("/b/x") == "b /b/x 200")

        // Version 5: the same listener without the filter: ACKed, /x goes to b.
        try rig.push(version(5, from: inline))
        #expect(waitUntil(seconds: 10) { rig.get("/x") == "b /x 200" }, "\(rig.diagnostics)")
        #expect(waitUntil(seconds: 5) { rig.acked("listeners") == "5" })
        #expect(rig.type("LDS")?["version"]?.stringValue == "5" && rig.type("LDS")?["last"]?.stringValue == "ack")
        let events = try SkiffProcess.run(["ctl", "events", "--kind", "xds.nack", "--socket", rig.socket])
        #expect(events.output.contains("RING_HASH") || events.output.contains("xds.nack"), "\(events.output)")
        print("xds NACKs:\n  CDS: \(cds)\n  LDS: \(lds)")
    }

    /// Waits for a NACK of `type` (the control plane's name) and checks both sides: the control plane's last NACK
    /// names `naming`, its ACKed version stays `acked`; `skiff ctl xds` (`ctlType`) shows the same error, the same
    /// version and `nack` as the last outcome. Returns the error.
    private func nack(_ type: String, _ ctlType: String, _ rig: XDSRig, acked: String, naming: [String]) throws -> String {
        #expect(waitUntil(seconds: 10) { (rig.served(type)?["nacks"]?.int ?? 0) >= 1 }, "\(rig.diagnostics)")
        let served = rig.served(type)
        let error = served?["nack_error"]?.stringValue ?? ""
        for word in naming { #expect(error.contains(word), "\(type) NACK: \(error)") }
        #expect(served?["version_acked"]?.stringValue == acked)
        // ctl may lag the NACK by a moment (it is sent after the status is updated, so it should not).
        #expect(waitUntil(seconds: 5) { rig.type(ctlType)?["last"]?.stringValue == "nack" })
        let ctl = try #require(rig.type(ctlType))
        #expect(ctl["last_error"]?.stringValue == error, "ctl: \(ctl["last_error"]?.stringValue ?? "")")
        #expect(ctl["version"]?.stringValue == acked && ctl["nacks"]?.int == 1)
        return error
    }
}
