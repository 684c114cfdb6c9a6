import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// The control plane in the console, rendered from frames that carry `xds` (issue 17, "Operators"): the Overview
/// line (connected, versions and resources per type, NACKs; a lost stream in reverse red with its time), the xDS
/// panel under the Listeners table (view 2), and the event colours of xds.nack / xds.disconnected.
@Suite struct ConsoleXDSTests {
    static func xds(connected: Bool = true, since: UInt64 = Fixtures.t0 - 60_000, waiting: Int = 0) -> TelemetryFrame.XDS {
        var x = TelemetryFrame.XDS()
        x.controlPlane = "127.0.0.1:15010"
        x.connected = connected
        x.sinceMs = since
        x.connects = 2
        x.waiting = waiting
        if !connected { x.lastDisconnect = "connection refused" }
        let rows: [(String, String, Int, Int)] = [("CDS", "3", 2, 0), ("EDS", "7", 2, 0), ("LDS", "1", 1, 0), ("RDS", "2", 1, 1)]
        x.types = rows.map { type, version, resources, nacks in
            var t = TelemetryFrame.XDSType()
            t.type = type
            t.version = version
            t.resources = resources
            t.pushes = Int(version)! + nacks
            t.acks = Int(version)!
            t.nacks = nacks
            if nacks > 0 { t.lastError = "route_config r1: virtual_hosts[0].routes[0].match.safe_regex: invalid regex" }
            return t
        }
        return x
    }

    static func model(_ x: TelemetryFrame.XDS?) -> ConsoleModel {
        var f1 = Fixtures.f1
        var f2 = Fixtures.f2
        f1.xds = x
        f2.xds = x
        return Fixtures.model(frames: [f1, f2])
    }

    /// Where `text` is in `g` (a short error, not the whole grid, when it is not).
    func locate(_ g: Grid, _ text: String) throws -> (x: Int, y: Int) {
        guard let at = find(g, text) else { throw LocateError(text: text, screen: g.plainText) }
        return at
    }

    struct LocateError: Error, CustomStringConvertible {
        var text: String
        var screen: String
        var description: String { "\"\(text)\" not on the screen:\n\(screen)" }
    }

    /// The row of `g` that holds `text`, and the column it starts at.
    func find(_ g: Grid, _ text: String) -> (x: Int, y: Int)? {
        let needle = Array(text)
        for (y, line) in g.text().enumerated() {
            let chars = Array(line)
            guard chars.count >= needle.count else { continue }
            for x in 0...(chars.count - needle.count) where Array(chars[x..<(x + needle.count)]) == needle { return (x, y) }
        }
        return nil
    }

    @Test func overviewLineWhenConnected() throws {
        for (w, h) in [(100, 30), (80, 24)] {
            let g = Fixtures.render(Self.model(Self.xds()), Fixtures.state(.overview, w: w, h: h), w, h)
            let t = g.text()
            // Right under the totals, before the sparklines.
            #expect(t[2].contains("RPS 1.2k/s"), "\(t[2])")
            // 80 columns: the resource counts make room for the NACKs.
            let expected = w >= 100
                ? " xds 127.0.0.1:15010 connected · CDS v3 (2) EDS v7 (2) LDS v1 (1) RDS v2 (1) · 1 NACK"
                : " xds 127.0.0.1:15010 connected · CDS v3 EDS v7 LDS v1 RDS v2 · 1 NACK"
            #expect(t[3] == expected, "\(t[3])")
            let at = try locate(g, "connected")
            #expect(g[x: at.x, y: at.y].role == .ok)
            let nack = try locate(g, "1 NACK")
            #expect(g[x: nack.x, y: nack.y].role == .warn)
            #expect(t[4].isEmpty)
            #expect(t[5].hasPrefix(" RPS"), "\(t[5])")
        }
    }

    @Test func overviewLineWhenDisconnected() throws {
        let lost = Fixtures.t0 - 30_000
        // Wide enough for all of it (a narrower screen clips the end of the line).
        let g = Fixtures.render(
            Self.model(Self.xds(connected: false, since: lost, waiting: 1)), Fixtures.state(.overview, w: 160), 160, 30)
        let line = g.text()[3]
        let clock = Fmt.clock(lost, millis: false)
        #expect(
            line == " xds 127.0.0.1:15010 disconnected since \(clock) (connection refused) · CDS v3 (2) EDS v7 (2) LDS v1 (1)"
                + " RDS v2 (1) · 1 NACK · 1 listener waiting", "\(line)")
        let at = try locate(g, "disconnected since")
        #expect(g[x: at.x, y: at.y].role == .bad)
        #expect(g[x: at.x, y: at.y].style.contains(.reverse))
        #expect(g[x: at.x + "disconnected since \(clock)".count - 1, y: at.y].style.contains(.reverse))
    }

    @Test func overviewBeforeTheFirstStreamAndVersions() {
        var x = Self.xds(connected: false, since: 0)
        x.lastDisconnect = ""
        for i in x.types.indices { x.types[i].version = "" }
        x.types[0].version = "2f9c1a7be04d11aa"
        let t = Fixtures.render(Self.model(x), Fixtures.state(.overview)).text()
        #expect(t[3].hasPrefix(" xds 127.0.0.1:15010 connecting · CDS 2f9c1a7be04… (2) EDS - (2)"), "\(t[3])")
    }

    /// A file-only skiff: no xds line, and the Overview keeps its layout.
    @Test func overviewWithoutControlPlane() {
        let t = Fixtures.render(Self.model(nil), Fixtures.state(.overview)).text()
        #expect(!t.contains { $0.contains("xds") })
        #expect(t[3].isEmpty)
        #expect(t[4].hasPrefix(" RPS"), "\(t[4])")
    }

    @Test func listenersViewHasTheXDSPanel() throws {
        for (w, h) in [(100, 30), (80, 24)] {
            let g = Fixtures.render(Self.model(Self.xds()), Fixtures.state(.listeners, w: w, h: h), w, h)
            let t = g.text()
            #expect(t[2].hasPrefix("NAME"))
            #expect(t.contains { $0.hasPrefix("http_in") }, "\(g.plainText)")
            let since = Fmt.clock(Fixtures.t0 - 60_000, millis: false)
            let title = try #require(t.firstIndex { $0.hasPrefix("xDS  control plane") }, "\(g.plainText)")
            #expect(t[title].hasPrefix("xDS  control plane 127.0.0.1:15010  connected since \(since)  streams 2"))
            // The panel sits at the bottom of the body: title, header, four types, then status and hints.
            #expect(title == h - 2 - 6, "\(g.plainText)")
            let header = t[title + 1]
            for c in ["TYPE", "VERSION", "RESOURCES", "PUSHES", "ACKS", "NACKS", "LAST ERROR"] {
                #expect(header.contains(c), "\(header)")
            }
            let cds = t[title + 2].split(separator: " ")
            #expect(cds == ["CDS", "3", "2", "3", "3", "0"], "\(t[title + 2])")
            let rds = t[title + 5]
            #expect(rds.hasPrefix("RDS"))
            #expect(rds.contains("route_config r1: virtual_hosts"), "\(rds)")
            let err = try locate(g, "route_config r1")
            #expect(g[x: err.x, y: err.y].role == .bad)
            #expect(t[title - 1].isEmpty)
        }
    }

    @Test func listenersPanelWhenDisconnectedIsRed() throws {
        let g = Fixtures.render(Self.model(Self.xds(connected: false, since: Fixtures.t0)), Fixtures.state(.listeners))
        let at = try locate(g, "xDS  control plane")
        #expect(g.text()[at.y].contains("disconnected since \(Fmt.clock(Fixtures.t0, millis: false)) (connection refused)"))
        #expect(g[x: 0, y: at.y].role == .bad)
    }

    @Test func listenersViewWithoutControlPlane() {
        let t = Fixtures.render(Self.model(nil), Fixtures.state(.listeners)).text()
        #expect(!t.contains { $0.contains("xDS") })
        #expect(t.contains { $0.hasPrefix("http_in") })
    }

    @Test func xdsEventSeverities() {
        func severity(_ body: TelemetryEvent.Body) -> EventSeverity { EventSeverity.of(ConsoleEvent(TelemetryEvent(ts: 1, body))) }
        #expect(severity(.xdsNack(.init(type: "RDS", version: "3", error: "bad"))) == .warning)
        #expect(severity(.xdsDisconnected(.init(controlPlane: "127.0.0.1:15010", reason: "refused"))) == .warning)
        #expect(severity(.xdsConnected(.init(controlPlane: "127.0.0.1:15010"))) == .recovery)
        #expect(severity(.xdsAck(.init(type: "CDS", version: "3", resources: 2))) == .info)
    }

    /// The Events view draws an xds.nack in the warning colour.
    @Test func nackIsYellowInTheEventsView() throws {
        let m = Self.model(Self.xds())
        m.ingest(line: Fixtures.line(TelemetryEvent(ts: Fixtures.t0 + 950, .xdsNack(.init(type: "RDS", version: "3", error: "bad regex")))))
        let g = Fixtures.render(m, Fixtures.state(.events))
        let at = try locate(g, "xds.nack")
        #expect(g[x: at.x, y: at.y].role == .warn)
    }
}
