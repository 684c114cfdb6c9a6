import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// The details panel (issue 15): what it says for a host, a listener and a connection, from frames encoded as the
/// publisher sends them; Enter opens it on the selected row, Esc closes it.
@Suite struct DetailsPanelTests {
    func press(_ keys: [Key], _ s: inout ConsoleState, _ m: ConsoleModel) -> ConsoleCommand {
        var last = ConsoleCommand.none
        for k in keys { last = handle(k, state: &s, model: m) }
        return last
    }

    /// f2 with failures on 10.0.0.4 and more than 20 checks on 10.0.0.3.
    static var failingFrame: TelemetryFrame {
        var f = Fixtures.f2
        f.clusters[0].hosts[1].cxConnectFail = 57
        f.clusters[0].hosts[1].cxConnectTimeout = 5
        f.clusters[0].hosts[1].rqTimeout = 3
        f.clusters[0].hosts[1].rqRemoteReset = 2
        f.clusters[0].hosts[1].rqLocalReset = 1
        f.clusters[0].hosts[1].ejections = 4
        f.clusters[0].hosts[1].respFailed = 9
        let ts = f.ts
        var checks: [TelemetryFrame.Check] = []
        for i in 0..<25 {
            let failed: Bool = i % 5 == 0
            let at: UInt64 = ts - UInt64(25 - i) * 1000
            checks.append(
                TelemetryFrame.Check(ok: !failed, reason: failed ? "L7STS 503" : "L7OK", latencyUs: UInt64(100 + i), at: at))
        }
        f.clusters[0].hosts[0].checks = checks
        return f
    }

    @Test func hostPanelSaysEverythingInPlainWords() {
        let m = Fixtures.model(frames: [Fixtures.f1, Self.failingFrame])
        let text = DetailsPanel.text(.host(cluster: "c1", address: "10.0.0.4:8080"), m.snapshot)
        #expect(text[0] == "host c1/10.0.0.4:8080")
        #expect(text.contains("admin READY   health DOWN 1/2   weight 2   takes no new requests"))
        #expect(text.contains("active requests 2   active connections 8   idle connections 2"))
        #expect(text.contains("requests 5600   responses 5600   5xx 9   connections opened 90"))
        #expect(text.contains("connect failures 57   connect timeouts 5   request timeouts 3   resets by the host 2"))
        #expect(text.contains("resets by skiff 1   retried elsewhere 0   ejections 4"))
        #expect(!text.contains("no failures since start"))
        // The fixture's host latency does not move between its frames: nothing in the recent window.
        #expect(text.contains("latency, last 10s: no requests"))
        #expect(text.contains("latency since start (10 requests)"))
        #expect(text.contains { $0.hasPrefix("  p99  ") && $0.contains("2.5ms") && $0.contains("█") })
        #expect(text.contains("last 1 checks, newest first"))
        #expect(text.contains { $0.contains("failed  L4CON refused") && $0.contains("took 100µs") && $0.contains("500ms ago") })
        // No drain section for a READY host.
        #expect(!text.contains("drain"))
    }

    @Test func hostPanelShowsTheLastTwentyChecksNewestFirstAndTheDrain() {
        let m = Fixtures.model(frames: [Fixtures.f1, Self.failingFrame])
        let text = DetailsPanel.text(.host(cluster: "c1", address: "10.0.0.3:8080"), m.snapshot)
        let i = text.firstIndex(of: "last 20 checks, newest first")!
        let checks = Array(text[(i + 1)...])
        #expect(checks.count == 20)
        #expect(checks[0].contains("took 124µs") && checks[0].contains("1.00s ago"))
        #expect(checks[19].contains("took 105µs"))
        #expect(checks[4].contains("failed  L7STS 503"))
        #expect(text.contains("drain"))
        #expect(text.contains("elapsed 12.0 s of 30.0 s   requests left 2   busy connections 1   idle connections 0"))
        #expect(text.contains("no failures since start") == false)  // 3 5xx on this host
        let drained = DetailsPanel.text(.host(cluster: "c1", address: "10.0.0.5:8080"), m.snapshot)
        #expect(drained.contains("drained: safe to remove"))
        #expect(drained.contains("checks") && drained.contains("  not checked (no health check, or MAINT)"))
        let gone = DetailsPanel.text(.host(cluster: "c1", address: "10.9.9.9:1"), m.snapshot)
        #expect(gone[1].contains("not in the latest frame"))
    }

    @Test func listenerPanelHasModelThreadsAcceptRateRefusalsAndWritev() {
        let m = Fixtures.model()
        let http = DetailsPanel.text(.listener("http_in"), m.snapshot)
        #expect(http.contains("address 0.0.0.0:8080   protocol http1   thread model netpoll"))
        #expect(http.contains("pollers 2 (124 descriptors)   workers 2"))
        // cx_total 1000 + rq/10: 2000 -> 2120 in one second.
        #expect(http.contains("active 120   accepted since start 2120   accept rate 120/s"))
        #expect(http.contains("refused over max_connections 0   accept errors 0"))
        #expect(http.contains("requests 11200   active 4   1xx 0   2xx 11185   3xx 0   4xx 0   5xx 15"))
        #expect(http.contains("writev calls by buffers gathered:"))
        #expect(http.contains { $0.hasPrefix("  1     ") && $0.contains("1500") && $0.hasSuffix(String(repeating: "█", count: 30)) })
        #expect(http.contains { $0.hasPrefix("  16+   ") && $0.contains("100") && $0.hasSuffix(" ██") })
        let tcp = DetailsPanel.text(.listener("tcp_in"), m.snapshot)
        #expect(tcp.contains { $0.hasPrefix("threads: one accept thread, a reader and a writer per connection (6 for 3") })
        #expect(tcp.contains("sessions 142   active 3   upstream connect failures 0"))
    }

    @Test func connectionPanel() {
        let m = Fixtures.model()
        let text = DetailsPanel.text(.connection(1), m.snapshot)
        #expect(text[0] == "connection 1")
        #expect(text.contains("inbound on http_in   peer 192.168.1.10:50000   thread model netpoll"))
        #expect(text.contains("age 6.00s   state open"))
        #expect(text.contains("writev calls 4   buffers written 8   buffers per writev 2.0"))
        #expect(DetailsPanel.text(.connection(2), m.snapshot)[1] == "connection 2 has closed")
    }

    @Test func enterOpensTheSelectedRowAndEscCloses() {
        let m = Fixtures.model()
        var s = Fixtures.state(.clusters)
        _ = press([.enter], &s, m)  // the cluster row: the cluster's panel (ConsoleTLSTests)
        #expect(s.details == .cluster("c1"))
        _ = press([.escape], &s, m)
        _ = press([.down, .down, .down], &s, m)  // c1, .3, its drain line, .4
        _ = press([.enter], &s, m)
        #expect(s.details == .host(cluster: "c1", address: "10.0.0.4:8080"))
        let screen = Fixtures.render(m, s).text()
        #expect(screen[2].hasPrefix("┌─ host c1/10.0.0.4:8080 "))
        #expect(screen[3].hasPrefix("│ admin READY   health DOWN 1/2   weight 2"))
        #expect(screen[29].hasPrefix("Esc close  ↑↓ scroll  d drain  m maint  M maint+kill  r ready  w weight"))
        // Scrolling stays within the content; Esc closes and the table is back with its selection.
        _ = press(Array(repeating: .down, count: 100), &s, m)
        #expect(s.detailsScroll == 0)  // 18 lines fit the 24 inner rows
        _ = press([.escape], &s, m)
        #expect(s.details == nil && s.selected == 3)
        #expect(Fixtures.render(m, s).text()[2].hasPrefix("CLUSTER / HOST"))

        // A longer panel scrolls to its last page and no further, and says where it is.
        let long = Fixtures.model(frames: [Fixtures.f1, Self.failingFrame])
        var h = Fixtures.state(.health)
        _ = press([.enter], &h, long)
        let lines = DetailsPanel.content(h.details!, long.snapshot).lines.count
        #expect(lines > 30)
        _ = press(Array(repeating: .down, count: 100), &h, long)
        #expect(h.detailsScroll == lines - 24)
        #expect(Fixtures.render(long, h).text()[27].hasSuffix(" \(lines - 23)-\(lines)/\(lines) ↑↓ ┘"))
        _ = press([.home], &h, long)
        #expect(h.detailsScroll == 0)

        var l = Fixtures.state(.listeners)
        _ = press([.down, .enter], &l, m)
        #expect(l.details == .listener("tcp_in"))
        _ = press([.char("2")], &l, m)  // a view key closes the panel
        #expect(l.details == nil)
        var c = Fixtures.state(.connections)
        _ = press([.enter], &c, m)
        #expect(c.details == .connection(1))
        _ = press([.char("q")], &c, m)
        #expect(c.details == nil)
        var e = Fixtures.state(.events)
        _ = press([.enter], &e, m)
        #expect(e.details == nil && e.status == "no details for this row")
    }
}

/// The host panel shows the recent window beside the since-start figures once the host's histogram moves.
@Suite struct DetailsPanelWindowTests {
    @Test func hostPanelShowsTheRecentWindow() {
        let a = Fixtures.f1
        var b = Fixtures.f2
        // 100 more requests to the busy host in the second between the frames, all in one slow bucket.
        let i = b.clusters[0].hosts.firstIndex { $0.address == "10.0.0.4:8080" }!
        var l = b.clusters[0].hosts[i].latency
        l.count += 100
        if var buckets = l.buckets, !buckets.isEmpty {
            buckets[buckets.count - 1] += 100
            l.buckets = buckets
        }
        b.clusters[0].hosts[i].latency = l
        let m = Fixtures.model(frames: [a, b])
        let text = DetailsPanel.text(.host(cluster: "c1", address: "10.0.0.4:8080"), m.snapshot)
        #expect(text.contains { $0.hasPrefix("latency, last 10s (100 requests)") }, "\(text)")
        #expect(text.contains("latency since start (110 requests)"), "\(text)")
    }
}
