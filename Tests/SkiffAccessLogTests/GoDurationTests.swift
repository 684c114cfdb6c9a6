import Testing

@testable import SkiffAccessLog

/// `GoDuration` prints what Go's `time.Duration.String()` prints (the cases of Go's own `durationTests`, and the
/// values MOSN's access logs show most).
@Suite struct GoDurationTests {
    static let cases: [(Int64, String)] = [
        (0, "0s"), (1, "1ns"), (999, "999ns"), (1_000, "1µs"), (1_100, "1.1µs"), (350_000, "350µs"),
        (999_999, "999.999µs"), (1_000_000, "1ms"), (1_503_000, "1.503ms"), (1_503_241, "1.503241ms"),
        (2_200_000, "2.2ms"), (999_999_999, "999.999999ms"), (1_000_000_000, "1s"), (2_100_000_000, "2.1s"),
        (3_300_000_000, "3.3s"), (60_000_000_000, "1m0s"), (60_500_000_000, "1m0.5s"),
        (245_000_000_000, "4m5s"), (245_001_000_000, "4m5.001s"), (480_000_000_001, "8m0.000000001s"),
        (18_367_001_000_000, "5h6m7.001s"), (360_000_000_000_000, "100h0m0s"), (-1_500_000, "-1.5ms"),
        (-1, "-1ns"), (Int64.max, "2562047h47m16.854775807s"), (Int64.min, "-2562047h47m16.854775808s"),
    ]

    @Test(arguments: cases)
    func matchesGo(_ c: (Int64, String)) {
        #expect(GoDuration.text(c.0) == c.1)
    }

    /// The cursor writes durations under a second itself: the same text as Go's algorithm.
    @Test(arguments: cases)
    func cursorMatchesGo(_ c: (Int64, String)) {
        var out = [UInt8](repeating: 0, count: 64)
        let n = out.withUnsafeMutableBufferPointer { buf -> Int in
            var cursor = LineCursor(buf)
            cursor.goDuration(c.0)
            return cursor.pointer - buf.baseAddress!
        }
        #expect(String(decoding: out[0..<n], as: UTF8.self) == c.1)
    }

    @Test func everyMicrosecondValueMatches() {
        // The fast path's fraction handling against the general one, across units and trailing zeros.
        var out = [UInt8](repeating: 0, count: 64)
        for ns in stride(from: Int64(1), to: 1_000_000_000, by: 7_919) {
            let n = out.withUnsafeMutableBufferPointer { buf -> Int in
                var cursor = LineCursor(buf)
                cursor.goDuration(ns)
                return cursor.pointer - buf.baseAddress!
            }
            if String(decoding: out[0..<n], as: UTF8.self) != GoDuration.text(ns) {
                Issue.record("\(ns): \(String(decoding: out[0..<n], as: UTF8.self)) != \(GoDuration.text(ns))")
                return
            }
        }
    }

    @Test func throughTheCursorAsBytes() {
        var out = [UInt8](repeating: 0, count: 64)
        let n = out.withUnsafeMutableBufferPointer { buf -> Int in
            var c = LineCursor(buf)
            c.goDuration(350_000)
            c.byte(UInt8(ascii: " "))
            c.goDuration(0)
            return c.pointer - buf.baseAddress!
        }
        // The micro sign is U+00B5 (0xC2 0xB5), not U+03BC.
        #expect(Array(out[0..<n]) == [0x33, 0x35, 0x30, 0xC2, 0xB5, 0x73, 0x20, 0x30, 0x73])
    }
}
