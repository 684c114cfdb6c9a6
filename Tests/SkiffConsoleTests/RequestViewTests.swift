import SkiffJSON
import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// View 9, Requests, on samples sent through the schema's encoder: rows newest first, the sampling line, `/` with
/// status classes and several words, `p` freezing the list.
struct RequestViewTests {
    static func sample(
        _ path: String, status: Int, host: String = "10.0.0.3:8080", ts: UInt64, skipped: UInt64 = 0,
        flags: String = ""
    ) -> TelemetryRequestSample {
        var s = TelemetryRequestSample()
        s.ts = ts
        s.listener = "web"
        s.proto = "http1"
        s.method = "GET"
        s.authority = "api.test"
        s.path = path
        s.status = status
        s.cluster = "c1"
        s.host = host
        s.latencyUs = 1500
        s.bytesOut = 2048
        s.flags = flags
        s.skipped = skipped
        s.budget = 200
        return s
    }

    static func model() -> ConsoleModel {
        let m = Fixtures.model()
        let t0 = Fixtures.t0
        m.ingest(line: Fixtures.line(sample("/v1/users", status: 200, ts: t0 + 10)))
        m.ingest(line: Fixtures.line(sample("/v1/orders", status: 503, host: "10.0.0.4:8080", ts: t0 + 20, flags: "LR")))
        m.ingest(line: Fixtures.line(sample("/static/app.js", status: 404, ts: t0 + 30, skipped: 3)))
        return m
    }

    static func tableRows(_ g: Grid) -> [String] {
        g.text().filter { $0.contains("GET") }
    }

    @Test func rowsNewestFirstWithEveryColumn() {
        let m = Self.model()
        var s = Fixtures.state(.requests, w: 120, h: 30)
        s.view = .requests
        let g = Fixtures.render(m, s, 120, 30)
        let text = g.plainText
        #expect(text.contains("9 Requests"), "\(text)")
        for title in ["TIME", "METHOD", "AUTHORITY", "PATH/SERVICE", "STATUS", "UPSTREAM", "LATENCY", "IN", "OUT", "FLAGS"] {
            #expect(text.contains(title), "\(title) missing:\n\(text)")
        }
        let rows = Self.tableRows(g)
        #expect(rows.count == 3, "\(text)")
        #expect(rows.first?.contains("/static/app.js") == true)
        #expect(rows.last?.contains("/v1/users") == true)
        #expect(rows[1].contains("503") && rows[1].contains("10.0.0.4:8080") && rows[1].contains("LR"))
        #expect(rows.last?.contains("1.5ms") == true, "\(rows)")
        // 3 samples stood for 6 requests (3 skipped before the last).
        #expect(text.contains("sampled: 1 in 2.0 requests (at most 200/s per executor)"), "\(text)")
    }

    @Test func filterByStatusClassHostAndPathWords() {
        let m = Self.model()
        var s = Fixtures.state(.requests, w: 120, h: 30)
        for k: Key in [.char("/"), .char("5"), .char("x"), .char("x"), .enter] { _ = handle(k, state: &s, model: m) }
        #expect(s.filter == "5xx")
        var rows = Self.tableRows(Fixtures.render(m, s, 120, 30))
        #expect(rows.count == 1 && rows[0].contains("/v1/orders"), "\(rows)")
        s.filter = "4xx static"
        rows = Self.tableRows(Fixtures.render(m, s, 120, 30))
        #expect(rows.count == 1 && rows[0].contains("/static/app.js"), "\(rows)")
        s.filter = "10.0.0.3 /v1"
        rows = Self.tableRows(Fixtures.render(m, s, 120, 30))
        #expect(rows.count == 1 && rows[0].contains("/v1/users"), "\(rows)")
        s.filter = "2xx /static"
        #expect(Self.tableRows(Fixtures.render(m, s, 120, 30)).isEmpty)
    }

    @Test func pauseFreezesTheListWhileSamplesKeepArriving() {
        let m = Self.model()
        var s = Fixtures.state(.requests, w: 120, h: 30)
        _ = handle(.char("9"), state: &s, model: m)
        #expect(s.view == .requests)
        _ = handle(.char("p"), state: &s, model: m)
        m.ingest(line: Fixtures.line(Self.sample("/later", status: 200, ts: Fixtures.t0 + 40)))
        var g = Fixtures.render(m, s, 120, 30)
        #expect(!g.plainText.contains("/later"))
        #expect(g.plainText.contains("PAUSED"))
        _ = handle(.char("p"), state: &s, model: m)
        g = Fixtures.render(m, s, 120, 30)
        #expect(Self.tableRows(g).first?.contains("/later") == true, "\(g.plainText)")
    }

    @Test func logKeepsTheNewestAndCountsWhatSamplesStandFor() {
        var log = RequestLog()
        #expect(log.samplingText == "no requests yet")
        for i in 0..<(RequestLog.capacity + 5) {
            log.add(Self.sample("/\(i)", status: 200, ts: UInt64(i)))
        }
        #expect(log.samples.count == RequestLog.capacity)
        #expect(log.samples.first?.path == "/5")
        #expect(log.samplingText == "every request (at most 200/s per executor)")
    }
}

/// Executors hand their samples over in batches: the view still lists them by finish time.
@Suite struct RequestLogOrderTests {
    @Test func samplesArePlacedByTheirTimeNotTheirArrival() {
        var log = RequestLog()
        for ts: UInt64 in [100, 300, 200, 400, 150] {
            var s = TelemetryRequestSample()
            s.ts = ts
            log.add(s)
        }
        #expect(log.samples.map(\.ts) == [100, 150, 200, 300, 400])
    }
}
