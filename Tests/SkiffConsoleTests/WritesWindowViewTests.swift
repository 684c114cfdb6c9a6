import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// The Writes view shows what the writes do now (over the recent window) beside the since-start figures: writev/s,
/// buffers per writev, back-pressure pauses per second, and the deepest queue seen.
@Suite struct WritesWindowViewTests {
    @Test func recentFiguresBesideSinceStart() {
        let a = Fixtures.f1
        var b = Fixtures.f2  // one second later
        // In that second: 500 writevs carrying 2000 buffers (4 per writev), and 4 read pauses.
        b.listeners[0].writes.writev += 500
        b.listeners[0].writes.buffers += 2000
        b.listeners[0].writes.readPauses += 4
        let m = Fixtures.model(frames: [a, b])
        let t = Fixtures.render(m, Fixtures.state(.writes, w: 160), 160).text()
        let header = t[2]
        for title in ["WV/S", "B/WV", "ALL B/WV", "PEAKQ", "PAUSE/S"] { #expect(header.contains(title), "\(header)") }
        let row = t.first { $0.contains("http_in") }!
        let cells = row.split(separator: " ").map(String.init)
        #expect(cells.contains("500/s"), "writev per second over the window: \(row)")
        #expect(cells.contains("4.0"), "buffers per writev over the window: \(row)")
        #expect(cells.contains("3.1"), "since start: 11000 buffers / 3500 writevs: \(row)")
        #expect(cells.contains("12"), "peak queue: \(row)")
        #expect(cells.contains("4.0/s"), "pauses per second: \(row)")
    }

    @Test func atEightyColumnsTheRecentFiguresStay() {
        let a = Fixtures.f1
        var b = Fixtures.f2
        b.listeners[0].writes.writev += 500
        b.listeners[0].writes.buffers += 2000
        let t = Fixtures.render(Fixtures.model(frames: [a, b]), Fixtures.state(.writes, w: 80), 80).text()
        #expect(t[2].contains("WV/S") && t[2].contains("B/WV") && t[2].contains("EAGAIN"), "\(t[2])")
        #expect(!t[2].contains("ALL B/WV"), "since-start figures drop before the recent ones: \(t[2])")
    }

    @Test func beforeTheWindowSpansTimeRecentFiguresAreDashes() {
        let m = Fixtures.model(frames: [Fixtures.f1])
        let t = Fixtures.render(m, Fixtures.state(.writes, w: 160), 160).text()
        let row = t.first { $0.contains("http_in") }!
        #expect(row.split(separator: " ").filter { $0 == "-" }.count >= 3, "\(row)")
        #expect(row.contains("3.0"), "the since-start figure is there from the first frame: \(row)")
    }
}
