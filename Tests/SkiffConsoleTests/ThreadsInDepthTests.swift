import SkiffJSON
import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// View 5 in depth, on frames sent through the schema's encoder: rwloop thread by thread, events per wake-up, and
/// the per-listener comparison computed from two frames.
struct ThreadsInDepthTests {
    static func withDetail(_ f: Fixtures.Frame, requests: UInt64, cpuMs: UInt64, syscalls: UInt64) -> Fixtures.Frame {
        var f = f
        var np = TelemetryFrame.ListenerCost()
        np.name = "http_in"
        np.model = "netpoll"
        np.connections = 40
        np.threads = 2
        np.cpuMs = cpuMs
        np.requests = requests
        np.syscalls = syscalls
        np.buffers = 9000
        np.writev = 3000
        np.memPerCx = 4096
        var rw = np
        rw.name = "tcp_in"
        rw.model = "rwloop"
        rw.connections = 3
        rw.threads = 7
        rw.cpuMs = cpuMs * 3
        rw.syscalls = syscalls * 2
        rw.memPerCx = 1 << 20
        f.threads.listeners = [np, rw]
        var reader = TelemetryFrame.RWThread()
        reader.tid = 7001
        reader.role = "reader"
        reader.conn = 2
        reader.owner = "tcp_in"
        reader.peer = "192.168.1.11:50001"
        reader.state = "blocked in read"
        reader.cpuMs = 12
        reader.bytes = 3 << 20
        var writer = reader
        writer.tid = 7002
        writer.role = "writer"
        writer.state = "writing"
        writer.bytes = 5 << 20
        f.threads.rwloop.threads = [reader, writer]
        return f
    }

    static func model() -> ConsoleModel {
        Fixtures.model(frames: [
            withDetail(Fixtures.f1, requests: 1000, cpuMs: 100, syscalls: 5000),
            withDetail(Fixtures.f2, requests: 3000, cpuMs: 150, syscalls: 9000),
        ])
    }

    @Test func rwloopThreadByThreadAndTheComparisonRow() {
        let m = Self.model()
        for (w, h) in [(120, 40), (100, 30)] {
            let t = Fixtures.render(m, Fixtures.state(.threads, w: w, h: h), w, h).text()
            let all = t.joined(separator: "\n")
            #expect(all.contains("listeners: the two models side by side"), "\(all)")
            let reader = t.first { $0.contains("7001") } ?? ""
            #expect(reader.contains("reader") && reader.contains("192.168.1.11:50001") && reader.contains("blocked in read"),
                    "\(all)")
            #expect(reader.contains("12ms") && reader.contains("3.0MiB"), "\(reader)")
            let writer = t.first { $0.contains("7002") } ?? ""
            #expect(writer.contains("writer") && writer.contains("writing"), "\(all)")
            // 50 ms CPU and 4000 syscalls over 2000 requests: 25.0 µs and 2.0 per request; 9000/3000 buffers/writev.
            let np = t.first { $0.hasPrefix("http_in") } ?? ""
            #expect(np.contains("netpoll") && np.contains("25.0") && np.contains("2.0") && np.contains("3.0"), "\(all)")
            #expect(np.contains("4.0KiB"), "\(np)")
            let rw = t.first { $0.hasPrefix("tcp_in") } ?? ""
            #expect(rw.contains("rwloop") && rw.contains("75.0") && rw.contains("4.0") && rw.contains("1.0MiB"), "\(all)")
            #expect(all.contains("EV/WAKE"), "\(all)")
        }
    }

    @Test func withoutAnEarlierFrameRatiosAreADash() {
        let m = Fixtures.model(frames: [Self.withDetail(Fixtures.f1, requests: 1000, cpuMs: 100, syscalls: 5000)])
        let t = Fixtures.render(m, Fixtures.state(.threads, w: 120, h: 40), 120, 40).text()
        let np = t.first { $0.hasPrefix("http_in") } ?? ""
        #expect(np.contains(" - "), "\(np)")
        #expect(!np.contains("25.0"), "\(np)")
    }
}
