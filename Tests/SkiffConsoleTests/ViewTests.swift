import Testing
@testable import SkiffConsole

@Suite struct ViewTests {
    func lines(_ g: Grid) -> [String] { g.text() }

    @Test func headerAndTabs() {
        let m = Fixtures.model()
        for (w, h) in [(100, 30), (80, 24)] {
            let g = Fixtures.render(m, Fixtures.state(.overview, w: w, h: h), w, h)
            let t = g.text()
            #expect(t[0].contains("skiff 0.4.0"))
            #expect(t[0].contains("pid 4242"))
            // The config path is the first thing a narrow header leaves out.
            #expect(t[0].contains("/etc/skiff/skiff.json") == (w >= 100), "\(t[0])")
            #expect(t[1].hasPrefix(w >= 100 ? "1 Overview 2 Listeners 3 Clusters" : "1 Overview 2 Listen 3 Clusters"))
            #expect(t[1].contains("8 Events") && t[1].contains("9 Req"), "\(t[1])")
            #expect(t[1].count <= w)
            // The current tab is reverse video.
            #expect(g[x: 0, y: 1].style.contains(.reverse))
            #expect(!g[x: 11, y: 1].style.contains(.reverse))
            #expect(t[h - 1].contains("q quit"))
            #expect(t[h - 1].count <= w)
        }
    }

    @Test func overview() {
        let m = Fixtures.model()
        let t = Fixtures.render(m, Fixtures.state(.overview)).plainText
        #expect(t.contains("RPS 1.2k/s"))  // (11200-10000)/1s on http_in + sessions on tcp_in
        #expect(t.contains("active cx 123"))
        #expect(t.contains("5xx 5.0/s"))
        #expect(t.contains("p99 (10s) 2.3ms"))  // over the window: f1 to f2
        #expect(t.contains("2 UP") && t.contains("1 DOWN") && t.contains("2 DRAIN") && t.contains("0 MAINT"))
        #expect(t.contains("2 pollers") && t.contains("2 workers") && t.contains("3 readers"))
        #expect(t.contains("▁") || t.contains("█"))
    }

    @Test func sparklinesGrowWithHistory() {
        let m = Fixtures.model(frames: [Fixtures.f1, Fixtures.f2, Fixtures.f3])
        #expect(m.history.count == 2)
        #expect(m.history[0].rps > 1000 && m.history[1].rps > m.history[0].rps)
        #expect(Fmt.spark(m.history.map(\.rps), width: 10).count == 2)
        #expect(Fmt.spark([0, 1, 2, 4, 8], width: 10) == "▁▂▃▅█")
    }

    @Test func listeners() {
        let m = Fixtures.model()
        let t = Fixtures.render(m, Fixtures.state(.listeners)).text()
        #expect(t[2].hasPrefix("NAME"))
        #expect(t[2].contains("ADDRESS") && t[2].contains("RPS"))
        let row = t.first { $0.hasPrefix("http_in") }!
        #expect(row.contains("0.0.0.0:8080") && row.contains("netpoll") && row.contains("http1"))
        #expect(row.contains("1.2k/s") && row.contains("4.0MiB"))
        // Header and cells come from one definition: RPS right-aligned under its title.
        let header = Array(t[2])
        let col = (0..<(header.count - 2)).first { String(header[$0..<($0 + 3)]) == "RPS" }! + 3
        #expect(row.count >= col && Array(row)[col - 1] == "s")
    }

    @Test func clustersTreeShowsDrainProgress() {
        let m = Fixtures.model()
        for (w, h) in [(100, 30), (80, 24)] {
            let t = Fixtures.render(m, Fixtures.state(.clusters, w: w, h: h), w, h).text()
            #expect(t[2].hasPrefix("CLUSTER / HOST"))
            #expect(t[3].hasPrefix("c1"))
            let host = t.first { $0.contains("└ 10.0.0.3:8080") }!
            #expect(host.contains("DRAIN") && host.contains("UP"))
            let i = t.firstIndex(of: host)!
            #expect(t[i + 1].contains("[####......] 2rq 1cx 12.0/30s"))
            #expect(t.contains { $0.contains("DRAINED safe to remove") })
            #expect(t.contains { $0.contains("DOWN 1/2") })
        }
        let wide = Fixtures.render(m, Fixtures.state(.clusters)).text()
        #expect(wide.contains { $0.contains("L7OK 1.00s") })
        // The host's retries (requests sent again after its connection closed unanswered) under RETRY.
        let header = Array(wide[2])
        let end = (0..<(header.count - 4)).first { String(header[$0..<($0 + 5)]) == "RETRY" }.map { $0 + 5 }
        #expect(end != nil, "\(wide[2])")
        if let end, let host = wide.first(where: { $0.contains("└ 10.0.0.3:8080") }) {
            #expect(String(Array(host)[(end - 2)..<end]) == "37", "\(host)")
        }
    }

    @Test func connectionsView() {
        let m = Fixtures.model()
        #expect(Set(m.connections.keys) == [1, 3])  // table, then changed merged and closed removed
        let t = Fixtures.render(m, Fixtures.state(.connections)).text()
        #expect(t[2].contains("ID") && t[2].contains("PEER") && t[2].contains("B/WV") && t[2].contains("STATE"))
        #expect(t[3].contains("192.168.1.10:50000") && t[3].contains("6.00s") && t[3].contains("2.0"))
        #expect(t[4].contains("192.168.1.12:50002"))
        #expect(!t.contains { $0.contains("192.168.1.11") })
    }

    @Test func threadsBothModels() {
        let m = Fixtures.model()
        for (w, h) in [(100, 30), (80, 24)] {
            let t = Fixtures.render(m, Fixtures.state(.threads, w: w, h: h), w, h).plainText
            #expect(t.contains("netpoll pollers") && t.contains("rwloop") && t.contains("workers"))
            #expect(t.contains("WAKE/S") && t.contains("2.4k/s"))  // poller 0: wakeups delta 2400
            #expect(t.contains("busy") && t.contains("PROC/S"))
            #expect(t.contains("readers") && t.contains("connections"))
        }
    }

    @Test func writesHistogram() {
        let m = Fixtures.model()
        let t = Fixtures.render(m, Fixtures.state(.writes, w: 160), 160).text()
        let header = t[2]
        for title in ["BUFFERS", "WRITEV", "1", "2-3", "4-7", "8-15", "16+", "B/WV", "EAGAIN"] {
            #expect(header.contains(title))
        }
        let l = t.first { $0.contains("http_in") }!
        #expect(l.contains("1.5k") && l.contains("800") && l.contains("400") && l.contains("200") && l.contains("100"))
        #expect(l.contains("3.0"))  // 9000 buffers / 3000 writev
        let c = t.first { $0.hasPrefix("C c1") }!
        #expect(c.contains("111") && c.contains("222") && c.contains("33"))
        #expect(c.contains("█"))
    }

    @Test func healthView() {
        let m = Fixtures.model()
        let t = Fixtures.render(m, Fixtures.state(.health)).text()
        let row = t.first { $0.hasPrefix("c1/10.0.0.3:8080") }!
        #expect(row.contains("✓✗✓") && row.contains("700µs") && row.contains("L7OK") && row.contains("2.00s"))
        #expect(row.contains("1 ok in a row"))
        let down = t.first { $0.hasPrefix("c1/10.0.0.4:8080") }!
        #expect(down.contains("DOWN 1/2") && down.contains("✗") && down.contains("1 failed in a row"))
    }

    @Test func eventsView() {
        let m = Fixtures.model()
        var s = Fixtures.state(.overview)
        _ = handle(.char("8"), state: &s, model: m)
        let t = Fixtures.render(m, s).text()
        #expect(t[3].contains("engine.start"))
        #expect(t[4].contains("host.admin") && t[4].contains("to=DRAIN") && t[4].contains("via=ctl"))
        _ = handle(.char("/"), state: &s, model: m)
        for c in "admin" { _ = handle(.char(c), state: &s, model: m) }
        _ = handle(.enter, state: &s, model: m)
        let f = Fixtures.render(m, s).text()
        #expect(f[3].contains("host.admin"))
        #expect(!f.contains { $0.contains("engine.start") })
    }

    @Test func tooSmall() {
        let g = Fixtures.render(Fixtures.model(), Fixtures.state(.overview), 60, 20)
        let t = g.text()
        #expect(t[10].contains("terminal too small: need 80x24, have 60x20"))
        #expect(t.filter { !$0.isEmpty }.count == 1)
        #expect(t[10].hasPrefix(" "))  // centred
    }

    @Test func helpOverlay() {
        let m = Fixtures.model()
        var s = Fixtures.state(.listeners)
        _ = handle(.char("?"), state: &s, model: m)
        #expect(Fixtures.render(m, s).plainText.contains("drain / maint / ready"))
        _ = handle(.char("q"), state: &s, model: m)
        #expect(!s.helpShown)
    }

    @Test func watchLine() {
        let m = Fixtures.model()
        let l = PlainText.watchLine(model: m)
        #expect(l.contains("rps 1.2k/s") && l.contains("cx 123") && l.contains("5xx 5.0/s"))
        #expect(!l.contains("\n"))
    }

    @Test func gridClipping() {
        var g = Grid(width: 5, height: 2)
        g.put(x: -2, y: 0, "abcdefgh")
        g.put(x: 3, y: 1, "xyz", style: .bold, role: .bad)
        g.put(x: 0, y: 5, "nope")
        #expect(g.text() == ["cdefg", "   xy"])
        #expect(g[x: 3, y: 1].role == .bad && g[x: 3, y: 1].style == .bold)
    }
}

@Suite struct DumpTests {
    /// `SKIFF_CONSOLE_DUMP=1 swift test --filter DumpTests` prints every view at 100x30 (for screenshots-text/).
    @Test func dump() {
        let m = Fixtures.model()
        for v in ConsoleView.allCases {
            var s = Fixtures.state(v)
            if v == .clusters { s.selected = 1 }
            let t = Fixtures.render(m, s).plainText
            #expect(!t.isEmpty)
            if let flag = getenvValue("SKIFF_CONSOLE_DUMP"), flag == "1" { print("=== \(v.title)\n" + t) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
func getenvValue(_ k: String) -> String? { getenv(k).map { String(cString: $0) } }
