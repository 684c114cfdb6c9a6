import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// What an operator sees of the control plane (issue 17, "Operators"), against the test control plane
/// (`XDSRig`): `/metrics` has the `skiff_xds_*` series (promtool-valid), the frames the console reads carry `xds`,
/// and the console (`skiff top` in tmux) shows the Overview's xDS line, the panel in view 2, and a lost control plane.
/// With `SKIFF_CAPTURE_DIR` set, the console test also writes its screens there (scripts/capture-screens.sh).
@Suite(.serialized) struct XDSOperatorsBinaryTests {
    static let types = ["CDS", "EDS", "LDS", "RDS"]

    /// Serving, with every type ACKed at least once (as `skiff ctl xds` reports it).
    func waitServing(_ rig: XDSRig) -> Bool {
        waitUntil(seconds: 30) { rig.get("/x") == "a /x 200" }
            && waitUntil(seconds: 10) { Self.types.allSatisfy { (rig.type($0)?["acks"]?.int ?? 0) >= 1 } }
    }

    @Test func metricsAndFramesCarryTheControlPlane() throws {
        let rig = try XDSRig(admin: true)
        defer { rig.stop() }
        #expect(waitServing(rig), "\(rig.diagnostics)")
        let admin = try #require(rig.adminPort)

        let metrics = try SkiffProcess.runCommand("curl", ["-s", "-m", "5", "http://127.0.0.1:\(admin)/metrics"]).output
        let lines = metrics.split(separator: "\n").map(String.init)
        #expect(lines.contains("skiff_xds_connected 1"), "\(metrics.suffix(2000))")
        #expect(lines.contains("skiff_xds_connects_total 1"))
        #expect(lines.contains("skiff_xds_waiting_listeners 0"))
        #expect(lines.contains("# TYPE skiff_xds_acks_total counter"))
        for t in Self.types {
            let acks = lines.first { $0.hasPrefix("skiff_xds_acks_total{type=\"\(t)\"} ") }
            #expect((acks?.split(separator: " ").last.flatMap { Int($0) } ?? 0) >= 1, "\(t): \(acks ?? "none")")
            #expect(lines.contains("skiff_xds_nacks_total{type=\"\(t)\"} 0"), "\(t)")
            #expect(lines.contains { $0.hasPrefix("skiff_xds_pushes_total{type=\"\(t)\"} ") }, "\(t)")
        }
        #expect(lines.contains(#"skiff_xds_resources{type="LDS"} 1"#))
        #expect(lines.contains(#"skiff_xds_resources{type="CDS"} 2"#))
        // promtool's findings, less MOSN's counter names kept without _total (docs/metrics.md).
        #expect(try PromtoolCheck.problems(metrics) == [])

        // The console's frames: a `stats` reply carries the xds section.
        let stats = try SkiffProcess.run(["ctl", "stats", "--json", "--socket", rig.socket])
        #expect(stats.status == 0, "\(stats.output)")
        let line = try #require(stats.output.split(separator: "\n").first { $0.hasPrefix("{") })
        let x = try #require(try JSONParser.parse(String(line))["frame"]?["xds"], "\(line.prefix(300))")
        #expect(x["control_plane"]?.stringValue == "127.0.0.1:\(rig.server.grpcPort)")
        #expect(x["connected"] == .bool(true))
        #expect((x["since_ms"]?.uint ?? 0) > 0)
        let types = x["types"]?.arrayValue ?? []
        #expect(types.map { $0["type"]?.stringValue ?? "" } == Self.types)
        #expect(types.allSatisfy { $0["version"]?.stringValue == "1" && ($0["acks"]?.int ?? 0) >= 1 }, "\(x)")
    }

    @Test func consoleShowsTheXDSStateAndALostControlPlane() throws {
        let rig = try XDSRig()
        defer { rig.stop() }
        #expect(waitServing(rig), "\(rig.diagnostics)")
        let plane = "127.0.0.1:\(rig.server.grpcPort)"
        let session = try tmuxStart("\(SkiffProcess.binaryPath) top --socket \(rig.socket)")
        defer { tmuxKill(session) }
        func pane() -> String { (try? tmuxCapture(session)) ?? "" }
        func save(_ name: String) {
            guard let dir = getenv("SKIFF_CAPTURE_DIR").map({ String(cString: $0) }), !dir.isEmpty else { return }
            _ = try? SkiffProcess.runCommand("sh", ["-c", "tmux capture-pane -p -t \(session) > \(dir)/\(name).txt"])
        }

        let line = "xds \(plane) connected · CDS v1 (2) EDS v1 (2) LDS v1 (1) RDS v1 (1)"
        #expect(waitUntil(seconds: 15) { pane().contains(line) }, "\(pane())")
        save("13-overview-xds")

        try tmuxKeys(session, "2")
        #expect(waitUntil(seconds: 5) { pane().contains("xDS  control plane \(plane)  connected since") }, "\(pane())")
        let panel = pane().split(separator: "\n").map(String.init)
        let header = try #require(panel.firstIndex { $0.hasPrefix("TYPE") && $0.contains("LAST ERROR") }, "\(pane())")
        #expect(panel[header + 1].hasPrefix("CDS") && panel[header + 4].hasPrefix("RDS"), "\(pane())")
        #expect(panel.contains { $0.hasPrefix("ingress") }, "the listeners table stays above the panel:\n\(pane())")
        save("14-listeners-xds")

        // The control plane goes away: Skiff keeps serving, the Overview says since when it is disconnected.
        _ = rig.server.stop()
        try tmuxKeys(session, "1")
        #expect(waitUntil(seconds: 15) { pane().contains("xds \(plane) disconnected since") }, "\(pane())")
        save("15-overview-xds-lost")
        #expect(rig.get("/x") == "a /x 200")
        try tmuxKeys(session, "8")
        #expect(waitUntil(seconds: 5) { pane().contains("xds.disconnected") }, "\(pane())")
        try tmuxKeys(session, "q")
    }
}
