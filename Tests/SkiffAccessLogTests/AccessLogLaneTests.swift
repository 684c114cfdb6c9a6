import Glibc
import SkiffConfig
import Testing

@testable import SkiffAccessLog

/// The lane protocol without a writer thread: bounded buffers, drops counted when the writer is behind, and
/// nothing lost or split once it drains. Write failures counted by line.
@Suite(.serialized) struct AccessLogLaneTests {
    @Test func dropsWhenFullAndKeepsWholeLines() throws {
        let writer = AccessLogWriter(report: { _ in })  // never started: nothing drains but the test
        let lane = AccessLogLane(writer: writer)
        let format = CompiledAccessLogFormat(
            .text(try AccessLogFormat.parse("%bytes_sent% " + String(repeating: "x", count: 91)).get()),
            plan: AccessLogCapturePlan(layouts: []))
        let r = AccessLogRecord(slots: 0)
        // 100-byte lines; 4 buffers of 64 KiB hold 655 each.
        let capacity = AccessLogLane.bufferCount * (AccessLogLane.bufferSize / 100)
        for i in 0..<(capacity + 50) {
            r.bytesSent = UInt64(1_000_000 + i)
            lane.append(format, r)
        }
        #expect(lane.droppedFull.load(ordering: .relaxed) == 50)
        var drained: [UInt8] = []
        lane.drain { bytes, _ in drained += bytes }
        let lines = String(decoding: drained, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == capacity)
        #expect(lines.allSatisfy { $0.count == 99 })
        #expect(lines.first?.hasPrefix("1000000 ") == true && lines.last?.hasPrefix("\(1_000_000 + capacity - 1) ") == true)
        // Drained: room again, and the next line follows the last one kept.
        r.bytesSent = 7
        lane.append(format, r)
        var more: [UInt8] = []
        lane.drain { bytes, _ in more += bytes }
        #expect(String(decoding: more, as: UTF8.self).hasPrefix("7 x"))
        #expect(lane.droppedFull.load(ordering: .relaxed) == 50)
    }

    @Test func writeErrorsAreCountedOncePerBurst() throws {
        let notices = Notices()
        let service = AccessLogService(report: notices.report)
        // /dev/full answers every write with ENOSPC.
        let log = try #require(
            try service.listenerLog(
                [AccessLogConfig(path: "/dev/full", layout: .text(try AccessLogFormat.parse("line").get()))],
                listener: "l", configPath: "", path: "p"))
        let r = log.makeRecord()
        for _ in 0..<10 { log.write(r, executorIndex: 0) }
        usleep(300_000)
        for _ in 0..<5 { log.write(r, executorIndex: 0) }
        service.stop()
        let stats = try #require(service.stats.first)
        #expect(stats.droppedWriteError == 15 && stats.lines == 0)
        #expect(notices.all == [.writeFailing(path: "/dev/full", errno: ENOSPC)])
    }

    @Test func newlinesCountLines() {
        let b = Array("a\nbb\n\nc".utf8)
        #expect(b.withUnsafeBytes { AccessLogWriter.lines(in: $0) } == 3)
    }
}
