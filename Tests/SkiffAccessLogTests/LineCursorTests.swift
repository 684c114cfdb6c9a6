import Testing

@testable import SkiffAccessLog

/// The cursor's writes: numbers, escapes, and overflow instead of writing past the end.
@Suite struct LineCursorTests {
    private func written(capacity: Int = 256, _ body: (inout LineCursor) -> Void) -> (String, Bool) {
        var out = [UInt8](repeating: 0, count: capacity)
        return out.withUnsafeMutableBufferPointer { buf in
            var c = LineCursor(buf)
            body(&c)
            let n = c.pointer - buf.baseAddress!
            return (String(decoding: UnsafeBufferPointer(rebasing: buf[0..<n]), as: UTF8.self), c.overflow)
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

    @Test func overflowStopsAtTheEnd() {
        let (text, overflow) = written(capacity: 8) { c in
            c.bytes(Array("12345".utf8))
            c.bytes(Array("6789".utf8))
            c.byte(UInt8(ascii: "x"))
        }
        // An overflowed line is discarded whole by its lane: what matters is the flag and no write past the end.
        #expect(text.hasPrefix("12345") && text.utf8.count == 8 && overflow)
        let (escaped, escapedOverflow) = written(capacity: 6) { c in
            Array("ab\"\"\"".utf8).withUnsafeBytes { c.jsonEscaped($0) }
        }
        #expect(escapedOverflow && escaped.count <= 6)
    }
}
