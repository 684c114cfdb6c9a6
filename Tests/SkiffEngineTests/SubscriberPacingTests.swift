import SkiffJSON
import SkiffTelemetry
import Testing

@testable import SkiffEngine

/// Per-subscriber frame intervals (issue 15, defect 9): the publisher ticks at the shortest ask, and a paced
/// subscriber gets one frame per interval with the connection changes of the frames it skipped folded in.
@Suite struct SubscriberPacingTests {
    func frame(ts: UInt64, changed: [UInt64] = [], closed: [UInt64] = []) -> [UInt8] {
        var f = TelemetryFrame()
        f.ts = ts
        f.pid = 1
        var c = TelemetryFrame.Connections()
        c.changed = changed.map { id in
            var r = TelemetryFrame.Connection()
            r.id = id
            r.bytesIn = ts
            return r
        }
        c.closed = closed
        f.connections = c
        return f.jsonBytes
    }

    func decode(_ bytes: [UInt8]) -> TelemetryFrame { TelemetryFrame(json: try! JSONParser.parse(bytes)) }

    @Test func pacedAtTheAskedIntervalWithConnectionChangesKept() {
        var pacer = FramePacer(intervalMs: 1000)
        // Frames every 250 ms for 3 s: one in four passes.
        var passed: [TelemetryFrame] = []
        for i in 0..<13 {
            let ts = 10_000 + UInt64(i) * 250
            let changed: [UInt64] = i == 1 ? [7, 8] : (i == 2 ? [9] : [])
            let closed: [UInt64] = i == 3 ? [8] : []
            if let out = pacer.pass(frame(ts: ts, changed: changed, closed: closed)) { passed.append(decode(out)) }
        }
        #expect(passed.map(\.ts) == [10_000, 11_000, 12_000, 13_000], "\(passed.map(\.ts))")
        // 7 and 9 changed, 8 opened and closed in frames that were left out: the next frame passed says so.
        let second = passed[1].connections
        #expect(Set(second?.changed?.map(\.id) ?? []) == [7, 9])
        #expect(second?.closed == [8])
        #expect(second?.changed?.first { $0.id == 7 }?.bytesIn == 10_250)
    }

    @Test func publisherTicksAtTheShortestAsk() {
        let asks = IntervalAsks()
        #expect(asks.shortest == nil)
        let a = asks.ask(2000)
        let b = asks.ask(250)
        #expect(asks.shortest == 250)
        asks.ask(5000, id: b)
        #expect(asks.shortest == 2000)
        asks.withdraw(a)
        asks.withdraw(b)
        #expect(asks.shortest == nil)
    }
}
