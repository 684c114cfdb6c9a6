import SkiffJSON
import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// The console an operator can trust in an incident (issue 15): keys inert while too small, a new pid resets the
/// model, a lost source shows red with the frame kept, refresh steps, per-view selection, content-sized columns, hints
/// at 80 columns, connection events hidden, severities, the legend, the read-only badge.
@Suite struct TerminalTrustTests {
    func press(_ keys: [Key], _ s: inout ConsoleState, _ m: ConsoleModel) -> [ConsoleCommand] {
        keys.map { handle($0, state: &s, model: m) }
    }

    /// Defect 3: at 70x20 only "terminal too small" shows, so `3` Down `d` `y` must not drain anything; `q` quits.
    @Test func tooSmallIgnoresEveryKeyButQ() {
        let m = Fixtures.model()
        var s = Fixtures.state(.overview, w: 70, h: 20)
        let out = press([.char("3"), .down, .char("d"), .char("y")], &s, m)
        #expect(out.allSatisfy { $0 == .none }, "\(out)")
        #expect(s.view == .overview && s.pending == nil && s.selected == 0)
        #expect(press([.char("q")], &s, m) == [.quit])
        // The same keys at a usable size do ask and drain.
        var big = Fixtures.state(.overview)
        let asked = press([.char("3"), .down, .char("d"), .char("y")], &big, m)
        #expect(asked.last == .setHostState(cluster: "c1", host: "10.0.0.3:8080", state: "drain"))
    }

    /// Defect 4: a frame from another pid (the daemon restarted) drops the old process's connections and history.
    @Test func newPidResetsTheModel() {
        let m = Fixtures.model(frames: [Fixtures.f1, Fixtures.f2])
        #expect(!m.connections.isEmpty && !m.history.isEmpty)
        var restarted = Fixtures.f3
        restarted.pid = 5151
        restarted.connections = TelemetryFrame.Connections()
        m.ingest(line: Fixtures.line(restarted))
        #expect(m.connections.isEmpty, "\(m.connections.keys)")
        #expect(m.history.isEmpty)
        #expect(m.latest?.pid == 5151)
        #expect(!m.events.isEmpty)  // what happened stays
        let t = Fixtures.render(m, Fixtures.state(.connections)).text()
        #expect(t.contains { $0.contains("(nothing to show)") }, "\(t.joined(separator: "\n"))")
    }

    /// Defect 12: a lost source turns the header red (`DISCONNECTED since HH:MM:SS, retrying`), dims the data, and
    /// keeps the frame: tabs on line 2, key hints on the last line, the reason on the status line.
    @Test func lostSourceKeepsTheFrame() {
        let m = Fixtures.model()
        for view in [ConsoleView.overview, .clusters] {
            var s = Fixtures.state(view)
            s.link = ConsoleLink.attached.next(problem: "lost skiff at /x.sock: it closed the connection", nowMs: Fixtures.t0)
            let g = Fixtures.render(m, s)
            let t = g.text()
            #expect(t[0].contains("DISCONNECTED since 08:26:40, retrying"), "\(t[0])")
            #expect(g[x: 1, y: 0].role == .bad)
            #expect(t[1].hasPrefix("1 Overview 2 Listeners"))
            #expect(t[29].hasPrefix("q quit"))
            #expect(t[28].contains("lost skiff at /x.sock"))
            #expect(g[x: 1, y: 3].style.contains(.dim))
        }
        // A later problem keeps the first time; attached again clears it.
        let first = ConsoleLink.attached.next(problem: "a", nowMs: 1000)
        #expect(first.next(problem: "b", nowMs: 5000) == .lost(sinceMs: 1000, reason: "b"))
        #expect(first.next(problem: nil, nowMs: 6000) == .attached)
    }

    /// Defect 11: before any frame the header says so, never "pid 0 up 0ns"; a source that cannot connect shows its
    /// reason.
    @Test func noFrameYetNeverShowsPidZero() {
        var s = Fixtures.state(.overview)
        let empty = ConsoleModel()
        #expect(!Fixtures.render(empty, s).text()[0].contains("pid 0"))
        s.link = .lost(sinceMs: Fixtures.t0, reason: "cannot reach skiff at /missing.sock: No such file or directory")
        let t = Fixtures.render(empty, s).text()
        #expect(!t[0].contains("pid 0") && !t[0].contains("0ns"), "\(t[0])")
        #expect(t[28].contains("cannot reach skiff at /missing.sock: No such file or directory"))
    }

    /// Defect 9: `+`/`-` step through 250 ms, 500 ms, 1 s, 2 s, 5 s (not halving and doubling), and the header shows
    /// the interval frames really arrive at.
    @Test func refreshStepsAndMeasuredRate() {
        let m = Fixtures.model()
        var s = ConsoleState(refreshMs: 5000)
        #expect(press([.char("+")], &s, m) == [.refresh(ms: 2000)])
        #expect(press([.char("+")], &s, m) == [.refresh(ms: 1000)])
        #expect(press([.char("+"), .char("+"), .char("+")], &s, m).last == .refresh(ms: 250))
        #expect(press([.char("-")], &s, m) == [.refresh(ms: 500)])
        var arrivals = FrameArrivals()
        #expect(arrivals.intervalMs == nil)
        for t in [0, 1010, 1990, 3000] as [UInt64] { arrivals.arrived(atMs: t) }
        #expect(arrivals.intervalMs == 1000)
        var st = Fixtures.state(.overview)
        st.refreshMs = 250
        st.arrivalMs = 1000
        let header = Fixtures.render(m, st).text()[0]
        #expect(header.contains("frames every 1.00s") && !header.contains("250"), "\(header)")
    }

    /// Defect 15: each view keeps its selection when the operator switches away and back.
    @Test func selectionKeptPerView() {
        let m = Fixtures.model()
        var s = Fixtures.state(.clusters)
        _ = press([.down, .down], &s, m)
        #expect(s.selected == 2)
        _ = press([.char("4"), .down, .char("3")], &s, m)
        #expect(s.view == .clusters && s.selected == 2)
        _ = press([.char("4")], &s, m)
        #expect(s.selected == 1)
    }

    /// Defect 13: at 80 columns the hints of the host views fit (quit, help, drain, maint, ready, pause, rate).
    @Test func hintsFitAt80() {
        let m = Fixtures.model()
        for view in [ConsoleView.clusters, .health] {
            let last = Fixtures.render(m, Fixtures.state(view, w: 80, h: 24), 80, 24).text()[23]
            for word in ["q quit", "? help", "d drain", "m maint", "r ready", "p pause", "+/- rate"] {
                #expect(last.contains(word), "\(word) in \(last)")
            }
            #expect(last.count <= 80)
        }
    }

    /// Defect 13: a column is as wide as its longest cell (a long name is not cut while space is left), and at a
    /// narrow width columns are left out by drop rank, never the first one.
    @Test func columnWidthsFromContent() {
        var f = Fixtures.f2
        f.listeners[0].name = "web_netpoll_listener_one"
        let m = Fixtures.model(frames: [Fixtures.f1, f])
        let t = Fixtures.render(m, Fixtures.state(.listeners, w: 120, h: 30), 120, 30).text()
        #expect(t.contains { $0.hasPrefix("web_netpoll_listener_one ") }, "\(t.prefix(5).joined(separator: "\n"))")
        var cols = [
            Column("NAME", 4) { _ in "a-rather-long-name" }, Column("KEEP", 6, .right) { _ in "1" },
            Column("DROP", 6, .right) { _ in "2" },
        ]
        cols[2].dropRank = 1
        let natural = ColumnLayout.naturalWidths(cols, rows: [0])
        #expect(natural == [18, 6, 6])
        let placed = ColumnLayout.fit(cols, natural: natural, width: 28)
        #expect(placed.map(\.col) == [0, 1], "\(placed)")
        #expect(ColumnLayout.fit(cols, natural: natural, width: 40).map(\.col) == [0, 1, 2])
    }

    /// Events: connection events hidden until `c`; severities coloured (an error red, a recovery green).
    @Test func eventsHideConnectionsAndColourSeverities() {
        let m = Fixtures.model()
        var open = TelemetryEvent.ConnectionOpen()
        open.conn = 77
        open.peer = "10.9.9.9:1234"
        m.ingest(line: Fixtures.line(TelemetryEvent(ts: Fixtures.t0 + 950, .connectionOpen(open))))
        m.ingest(line: Fixtures.line(TelemetryEvent(ts: Fixtures.t0 + 960, .engineError(.init(context: "x", error: "boom")))))
        m.ingest(event: ConsoleLogEvent.event(ts: Fixtures.t0 + 970, level: "warning", label: "skiff", message: "flap"))
        var s = Fixtures.state(.events)
        var g = Fixtures.render(m, s)
        #expect(!g.plainText.contains("conn.open"))
        let errorRow = g.text().firstIndex { $0.contains("engine.error") }!
        #expect(g[x: 0, y: errorRow].role == .bad)
        let logRow = g.text().firstIndex { $0.contains("message=flap") }!
        #expect(g[x: 0, y: logRow].role == .warn)
        _ = press([.char("c")], &s, m)
        g = Fixtures.render(m, s)
        #expect(g.plainText.contains("conn.open") && g.plainText.contains("10.9.9.9:1234"))
    }

    /// Help: every column abbreviation of the view explained; the header carries a read-only badge.
    @Test func legendAndReadOnlyBadge() {
        let m = Fixtures.model()
        for (view, abbreviation) in [(ConsoleView.writes, "B/WV"), (.writes, "PART"), (.writes, "EAGAIN"), (.health, "L7STS")] {
            var s = Fixtures.state(view, w: 120, h: 40)
            _ = press([.char("?")], &s, m)
            let text = Fixtures.render(m, s, 120, 40).plainText
            #expect(text.contains(abbreviation), "\(view) \(abbreviation)")
        }
        var s = Fixtures.state(.writes, w: 120, h: 40)
        _ = press([.char("?")], &s, m)
        #expect(Fixtures.render(m, s, 120, 40).plainText.contains("buffers per writev"))
        var ro = Fixtures.state(.overview)
        ro.readOnly = true
        #expect(Fixtures.render(m, ro).text()[0].contains("READ-ONLY"))
        #expect(!Fixtures.render(m, Fixtures.state(.overview)).text()[0].contains("READ-ONLY"))
    }
}

/// At 80 columns the header keeps pid, uptime and the real frame rate (the config path goes first), and the tab bar
/// still names the current view (the others keep their keys).
@Suite struct NarrowFrameTests {
    @Test func headerAndTabsAt80() {
        let m = Fixtures.model()
        var s = Fixtures.state(.requests, w: 80, h: 24)
        s.arrivalMs = 500
        let t = Fixtures.render(m, s, 80, 24).text()
        #expect(t[0].contains("pid 4242") && t[0].contains("frames every 500ms"), "\(t[0])")
        #expect(!t[0].contains("config"), "\(t[0])")
        #expect(t[1] == "1 Overview 2 Listen 3 Clusters 4 Conns 5 Thrds 6 Writes 7 Health 8 Events 9 Reqs", "\(t[1])")
    }
}
