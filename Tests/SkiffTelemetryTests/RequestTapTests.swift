import SkiffJSON
import Testing

@testable import SkiffTelemetry

/// The live request tap: watched only while a reader lives, a per-second budget per lane that says what it
/// skipped, readers that see only what finished after they started.
struct RequestTapTests {
    static func sample(_ path: String, status: Int = 200) -> TelemetryRequestSample {
        var s = TelemetryRequestSample()
        s.proto = "http1"
        s.method = "GET"
        s.path = path
        s.status = status
        return s
    }

    static func read(_ reader: RequestTapReader) -> [TelemetryRequestSample] {
        var out: [TelemetryRequestSample] = []
        reader.poll { out.append(TelemetryRequestSample(json: try! JSONParser.parse($0))) }
        return out
    }

    @Test func watchedOnlyWhileAReaderIsOpen() {
        let tap = RequestTap(maxPerSecond: 10)
        #expect(!tap.isWatched)
        let a = tap.watch()
        let b = tap.watch()
        #expect(tap.isWatched)
        #expect(tap.watcherCount == 2)
        a.close()
        a.close()  // idempotent: one watcher is not given back twice
        #expect(tap.isWatched)
        b.close()
        #expect(!tap.isWatched)
    }

    @Test func budgetCapsSamplesPerSecondAndTheNextSampleSaysWhatWasSkipped() {
        let tap = RequestTap(maxPerSecond: 3)
        let reader = tap.watch()
        defer { reader.close() }
        let lane = tap.lane(executorIndex: 5)
        #expect(tap.lane(executorIndex: 5) === lane)
        let second: UInt64 = 7_000_000_000
        var admitted = 0
        for i in 0..<5 where lane.admit(nowNs: second + UInt64(i)) {
            admitted += 1
            var s = Self.sample("/a\(i)")
            lane.push(&s)
        }
        #expect(admitted == 3)
        // The next second has a fresh budget; its first sample carries the two skipped in the previous one.
        #expect(lane.admit(nowNs: second + 1_000_000_000))
        var s = Self.sample("/next")
        lane.push(&s)
        let got = Self.read(reader)
        #expect(got.map(\.path) == ["/a0", "/a1", "/a2", "/next"])
        #expect(got.map(\.skipped) == [0, 0, 0, 2])
        #expect(got.allSatisfy { $0.budget == 3 })
        #expect(lane.seen.load(ordering: .relaxed) == 6)
        #expect(lane.sampled.load(ordering: .relaxed) == 4)
    }

    @Test func aReaderSeesOnlyWhatFinishesAfterItStarted() {
        let tap = RequestTap(maxPerSecond: 100)
        let first = tap.watch()
        let lane = tap.lane(executorIndex: 1)
        var old = Self.sample("/old")
        _ = lane.admit(nowNs: 1)
        lane.push(&old)
        let second = tap.watch()
        var new = Self.sample("/new")
        _ = lane.admit(nowNs: 2)
        lane.push(&new)
        // A lane made after both readers started is read from its beginning.
        let other = tap.lane(executorIndex: 2)
        var third = Self.sample("/other", status: 503)
        _ = other.admit(nowNs: 3)
        other.push(&third)
        #expect(Self.read(first).map(\.path) == ["/old", "/new", "/other"])
        #expect(Self.read(second).map(\.path) == ["/new", "/other"])
        #expect(Self.read(second).isEmpty)
        first.close()
        second.close()
    }

    @Test func aSampleRoundTripsAsARequestLine() throws {
        var s = Self.sample("/v1/x?y=1", status: 503)
        s.ts = 1_795_768_224_658
        s.listener = "web"
        s.authority = "api.test"
        s.cluster = "c"
        s.host = "127.0.0.1:8080"
        s.latencyUs = 1234
        s.bytesIn = 10
        s.bytesOut = 20
        s.flags = "LR"
        s.reason = "upstream connect failure"
        s.skipped = 3
        s.budget = 200
        let text = String(decoding: s.jsonBytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"type":"request","ts":1795768224658,"listener":"web","proto":"http1""#), "\(text)")
        #expect(TelemetryLine(json: try JSONParser.parse(s.jsonBytes)) == .request(s))
        #expect(s.statusClass == "5xx")
        #expect(s.target == "/v1/x?y=1")
    }
}

/// What one watcher's lane skipped is not reported to the next watcher.
@Suite struct RequestTapWatchEpochTests {
    @Test func aNewWatchStartsItsSkipCountFromZero() {
        let tap = RequestTap(maxPerSecond: 1)
        let first = tap.watch()
        let lane = tap.lane(executorIndex: 9)
        let second: UInt64 = 3_000_000_000
        #expect(lane.admit(nowNs: second))
        var s = RequestTapTests.sample("/first")
        lane.push(&s)
        for i in 1...5 { #expect(!lane.admit(nowNs: second + UInt64(i))) }  // 5 skipped while the first watched
        first.close()
        let next = tap.watch()
        defer { next.close() }
        #expect(lane.admit(nowNs: second + 2_000_000_000))
        var t = RequestTapTests.sample("/next")
        lane.push(&t)
        let got = RequestTapTests.read(next)
        #expect(got.map(\.path) == ["/next"])
        #expect(got.map(\.skipped) == [0], "the earlier watch's skips are not this one's")
    }
}
