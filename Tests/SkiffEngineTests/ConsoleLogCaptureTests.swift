import Logging
import Testing

@testable import SkiffEngine

/// While a console owns the terminal, log lines are held in a bounded buffer (newest kept, drops counted, long
/// messages cut), handed back in order when it closes.
@Suite struct ConsoleLogCaptureTests {
    @Test func aLogStormKeepsTheNewestLinesAndCountsTheRest() {
        let c = ConsoleLogCapture(terminalFD: -1)
        c.beginCapture()
        for i in 0..<10_000 { c.log(level: .info, label: "t", message: "line \(i)") }
        let held = c.lines(after: 0)
        #expect(held.count >= ConsoleLogCapture.capacity)
        #expect(held.count <= ConsoleLogCapture.capacity + ConsoleLogCapture.capacity / 4)
        #expect(held.last?.message == "line 9999")
        #expect(zip(held, held.dropFirst()).allSatisfy { $0.seq + 1 == $1.seq }, "in order, none missing in between")
        let (lines, dropped) = c.endCapture()
        #expect(lines.count + dropped == 10_000)
        #expect(c.lines(after: 0).isEmpty)
    }

    @Test func aHugeMessageIsCut() {
        let c = ConsoleLogCapture(terminalFD: -1)
        c.beginCapture()
        c.log(level: .warning, label: "t", message: String(repeating: "x", count: 100_000))
        let m = c.lines(after: 0)[0].message
        #expect(m.utf8.count == ConsoleLogCapture.maxMessageBytes + " [cut]".utf8.count && m.hasSuffix(" [cut]"))
    }
}
