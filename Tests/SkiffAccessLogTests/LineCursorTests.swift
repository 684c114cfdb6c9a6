import SkiffConfig
import Testing

@testable import SkiffAccessLog

/// The cursor's writes (numbers, escapes), and the worst case a line is given room for before it is written.
@Suite struct LineCursorTests {
    private func written(capacity: Int = 256, _ body: (inout LineCursor) -> Void) -> (String, Int) {
        var out = [UInt8](repeating: 0, count: capacity)
        return out.withUnsafeMutableBufferPointer { buf in
            var c = LineCursor(buf)
            body(&c)
            let n = c.pointer - buf.baseAddress!
            return (String(decoding: UnsafeBufferPointer(rebasing: buf[0..<n]), as: UTF8.self), n)
        }
    }

    @Test func numbers() {
        #expect(written { c in
            c.decimal(UInt64(0)); c.byte(32); c.decimal(UInt64(7)); c.byte(32); c.decimal(UInt64(1_234_567_890))
            c.byte(32); c.decimal(UInt64.max); c.byte(32); c.decimal(-42)
        }.0 == "0 7 1234567890 18446744073709551615 -42")
        #expect(written { c in c.hex(0); c.byte(32); c.hex(0x2); c.byte(32); c.hex(0x2120) }.0 == "0x0 0x2 0x2120")
    }

    @Test func escapes() {
        let raw: [UInt8] = Array("a\"b\\c\n\u{1}d".utf8)
        #expect(written { c in raw.withUnsafeBytes { c.jsonEscaped($0) } }.0 == #"a\"b\\c\n\u0001d"#)
        #expect(written { c in raw.withUnsafeBytes { c.textEscaped($0) } }.0 == #"a"b\c\x0a\x01d"#)
    }

    /// A line is written without a check per byte: its worst case, counted before, must cover every escape.
    @Test func maxLengthCoversTheWorstCase() throws {
        let layouts: [AccessLogLayout] = [
            .text(.mosnDefault),
            .text(try AccessLogFormat.parse(AccessLogFormat.mosnDefaultText + " %REQ(x)% %RESP(y):3% %RESPONSE_FLAGS%").get()),
            .json([
                AccessLogJSONField(key: "k\"", value: try AccessLogFormat.parse("%REQ(x)%").get()),
                AccessLogJSONField(key: "c", value: try AccessLogFormat.parse("%upstream_cluster%").get()),
                AccessLogJSONField(key: "m", value: try AccessLogFormat.parse("a %REQ(x)% b %duration%").get()),
            ]),
        ]
        for layout in layouts {
            let plan = AccessLogCapturePlan(layouts: [layout])
            let format = CompiledAccessLogFormat(layout, plan: plan)
            let r = AccessLogRecord(slots: plan.slotCount)
            // Every captured byte escapes to its longest form; every number and duration at its longest.
            let nasty = [UInt8](repeating: 0x01, count: 1000)
            for h in plan.requestHeaders + plan.responseHeaders { nasty.withUnsafeBytes { r.capture(h.slot, $0) } }
            r.startNs = 1
            r.requestSentNs = UInt64.max
            r.endNs = UInt64.max
            r.bytesSent = UInt64.max
            r.connectionID = UInt64.max
            r.flags = AccessLogFlags(rawValue: UInt32.max)
            let time = StartTimeCache.make()
            defer { StartTimeCache.free(time) }
            let need = format.maxLength(r)
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: need + 64)
            defer { buffer.deallocate() }
            let end = format.write(r, time: time, at: buffer)
            #expect(end - buffer <= need, "\(end - buffer) > \(need)")
        }
    }
}
