import SkiffTelemetry
import Testing
@testable import SkiffConsole

@Suite struct KeyTests {
    func press(_ keys: [Key], _ s: inout ConsoleState, _ m: ConsoleModel) -> ConsoleCommand {
        var last = ConsoleCommand.none
        for k in keys { last = handle(k, state: &s, model: m) }
        return last
    }

    @Test func drainConfirmationFlow() {
        let m = Fixtures.model()
        var s = Fixtures.state(.clusters)
        _ = press([.down], &s, m)  // row 0 is c1, row 1 is 10.0.0.3:8080
        #expect(press([.char("d")], &s, m) == .none)
        #expect(s.pending?.text == "drain host c1/10.0.0.3:8080 (2 active requests)? y/n")
        #expect(Fixtures.render(m, s).text()[28].contains("drain host c1/10.0.0.3:8080 (2 active requests)? y/n"))
        #expect(press([.char("y")], &s, m) == .setHostState(cluster: "c1", host: "10.0.0.3:8080", state: "drain"))
        #expect(s.pending == nil)

        #expect(press([.char("d"), .char("n")], &s, m) == .none)
        #expect(s.pending == nil && s.status.hasPrefix("cancelled"))
        #expect(press([.char("m"), .escape], &s, m) == .none)
        #expect(s.pending == nil)
    }

    @Test func confirmationUsesLiveCountWhilePaused() {
        let m = Fixtures.model(frames: [Fixtures.f1])
        var s = Fixtures.state(.health)
        _ = press([.char("p")], &s, m)
        m.ingest(line: Fixtures.line(Fixtures.f2))
        _ = press([.char("r")], &s, m)
        #expect(s.pending?.text == "ready host c1/10.0.0.3:8080 (2 active requests)? y/n")
        #expect(press([.char("y")], &s, m) == .setHostState(cluster: "c1", host: "10.0.0.3:8080", state: "ready"))
    }

    @Test func noHostSelectedOrWrongView() {
        let m = Fixtures.model()
        var s = Fixtures.state(.clusters)
        #expect(press([.char("d")], &s, m) == .none)  // the cluster row
        #expect(s.pending == nil && s.status == "select a host first")
        var l = Fixtures.state(.listeners)
        #expect(press([.char("d")], &l, m) == .none)
        #expect(l.pending == nil)
    }

    @Test func readOnlyRefuses() {
        let m = Fixtures.model()
        var s = Fixtures.state(.health)
        s.readOnly = true
        for k: Character in ["d", "m", "r"] {
            #expect(press([.char(k)], &s, m) == .none)
            #expect(s.pending == nil)
            #expect(s.status == "read-only: host actions are disabled")
        }
        #expect(Fixtures.render(m, s).text()[28] == "read-only: host actions are disabled")
    }

    @Test func pauseFreezesScreen() {
        let m = Fixtures.model(frames: [Fixtures.f1, Fixtures.f2])
        var s = Fixtures.state(.clusters)
        _ = press([.char("p")], &s, m)
        #expect(s.paused)
        let before = Fixtures.render(m, s)
        m.ingest(line: Fixtures.line(Fixtures.f3))
        #expect(m.latest?.seq == 3)
        let during = Fixtures.render(m, s)
        #expect(during.text().dropFirst() == before.text().dropFirst())  // header shows PAUSED both times
        #expect(during.text()[0].contains("PAUSED"))
        _ = press([.char("p")], &s, m)
        let after = Fixtures.render(m, s).plainText
        #expect(after.contains("7rq") && !during.plainText.contains("7rq"))
    }

    @Test func refreshBounds() {
        let m = Fixtures.model()
        var s = ConsoleState()
        #expect(s.refreshMs == 1000)
        #expect(press([.char("+")], &s, m) == .refresh(ms: 500))
        #expect(press([.char("+"), .char("+"), .char("+")], &s, m) == .refresh(ms: 250))
        for _ in 0..<10 { _ = press([.char("-")], &s, m) }
        #expect(s.refreshMs == 5000)
        #expect(ConsoleState(refreshMs: 10).refreshMs == 250)
    }

    @Test func tabCyclesAllViews() {
        let m = Fixtures.model()
        var s = ConsoleState()
        var seen: [ConsoleView] = []
        for _ in 0..<ConsoleView.allCases.count {
            seen.append(s.view)
            _ = press([.tab], &s, m)
        }
        #expect(seen == ConsoleView.allCases)
        #expect(s.view == .overview)
        _ = press([.backTab], &s, m)
        #expect(s.view == .requests)
        _ = press([.char("3")], &s, m)
        #expect(s.view == .clusters)
        let g = Fixtures.render(m, s)
        #expect(g[x: 23, y: 1].style.contains(.reverse))  // "3 Clusters" starts at 23
    }

    @Test func filterEditing() {
        let m = Fixtures.model()
        var s = Fixtures.state(.listeners)
        _ = press([.char("/"), .char("t"), .char("c"), .char("x")], &s, m)
        #expect(s.editingFilter && s.filter == "tcx")
        #expect(Fixtures.render(m, s).text()[28] == "filter: tcx_")
        _ = press([.backspace, .enter], &s, m)
        #expect(!s.editingFilter && s.filter == "tc")
        let t = Fixtures.render(m, s).text()
        #expect(t.contains { $0.hasPrefix("tcp_in") } && !t.contains { $0.hasPrefix("http_in") })
        // q while editing is text; q afterwards clears the filter; then quits.
        _ = press([.char("/"), .char("q")], &s, m)
        #expect(s.filter == "tcq")
        _ = press([.escape], &s, m)
        #expect(s.filter == "" && !s.editingFilter)
        _ = press([.char("/"), .char("h"), .enter], &s, m)
        #expect(press([.char("q")], &s, m) == .none)
        #expect(s.filter == "")
        #expect(press([.char("q")], &s, m) == .quit)
    }

    @Test func sortCycles() {
        let m = Fixtures.model()
        var s = Fixtures.state(.listeners)
        _ = press([.char("s")], &s, m)
        #expect(s.sortColumn == 0)
        var t = Fixtures.render(m, s).text()
        #expect(t[2].hasPrefix("NAME▲") && t[3].hasPrefix("http_in"))
        _ = press([.char("S")], &s, m)
        t = Fixtures.render(m, s).text()
        #expect(t[2].hasPrefix("NAME▼") && t[3].hasPrefix("tcp_in"))
        for _ in 0..<ConsoleTables.listeners(m.snapshot).columns.count { _ = press([.char("s")], &s, m) }
        #expect(s.sortColumn == nil)
    }
}

@Suite struct ManyConnectionsTests {
    static func bigModel(_ n: Int = 10_000) -> ConsoleModel {
        var table = TelemetryFrame.Connections()
        table.live = n
        var rows: [TelemetryFrame.Connection] = []
        rows.reserveCapacity(n)
        for i in 1...n {
            let u = UInt64(i)
            let peer = "10.1.\(i / 256 % 256).\(i % 256):\(40000 + i % 20000)"
            rows.append(
                Fixtures.connection(
                    u, model: "netpoll", owner: i % 2 == 0 ? "http_in" : "tcp_in", peer: peer, ageMs: u * 10,
                    thread: "poller-\(i % 4)", handler: "http1", bytesIn: u * 3, bytesOut: u * 7, writev: u % 50 + 1,
                    buffers: u % 120 + 1, paused: i % 97 == 0))
        }
        table.table = rows
        let m = ConsoleModel()
        m.ingest(
            line: Fixtures.line(
                Fixtures.frame(
                    seq: 1, ts: Fixtures.t0, rq: 100, fivexx: 0, drainActive: 0, elapsed: 0, connections: table)))
        return m
    }

    @Test func tenThousandRows() {
        let m = Self.bigModel()
        #expect(m.connections.count == 10_000)
        var s = Fixtures.state(.connections, w: 80, h: 24)
        let g = Fixtures.render(m, s, 80, 24)
        let t = g.text()
        #expect(t.count == 24 && t.allSatisfy { $0.count <= 80 })
        #expect(t[2].contains("1-19/10k") || t[2].contains("1-19/10000"))
        #expect(t[3].hasPrefix("      1"))
        #expect(g[x: 0, y: 3].style.contains(.reverse))

        _ = handle(.pageDown, state: &s, model: m)
        #expect(s.selected == 19 && s.scroll == 1)
        _ = handle(.pageDown, state: &s, model: m)
        let t2 = Fixtures.render(m, s, 80, 24).text()
        #expect(s.selected == 38)
        #expect(!t2.contains { $0.hasPrefix("      1 ") })
        #expect(t2[21].hasPrefix("     39"))
        _ = handle(.end, state: &s, model: m)
        let t3 = Fixtures.render(m, s, 80, 24).text()
        #expect(t3[21].hasPrefix("  10000"))
        _ = handle(.home, state: &s, model: m)
        #expect(s.selected == 0 && s.scroll == 0)

        // Filter: peers on 10.1.3.x (ids 768..1023 and every 65536th).
        _ = handle(.char("/"), state: &s, model: m)
        for c in "10.1.3." { _ = handle(.char(c), state: &s, model: m) }
        _ = handle(.enter, state: &s, model: m)
        let n = ConsoleTables.rowCount(.connections, m.snapshot, s)
        #expect(n == 256)
        let t4 = Fixtures.render(m, s, 80, 24).text()
        #expect(t4[2].contains("/256"))
        #expect(t4[3].hasPrefix("    768"))

        // Sort by bytes out, reversed.
        _ = handle(.escape, state: &s, model: m)
        for _ in 0..<8 { _ = handle(.char("s"), state: &s, model: m) }
        _ = handle(.char("S"), state: &s, model: m)
        #expect(s.sortColumn == 7)
        #expect(Fixtures.render(m, s, 80, 24).text()[3].hasPrefix("  10000"))
    }
}
