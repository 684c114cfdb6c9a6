import Glibc
import SkiffNet
import Testing

@testable import SkiffAccessLog

/// `start_time` from the lane's cache is the local time of the stamp to the millisecond, whatever order stamps come
/// in (the same millisecond again, the next one, another second, back again).
@Suite struct StartTimeCacheTests {
    /// The text Go's `2006/01/02 15:04:05.000` layout gives for wall-clock `ns`, computed directly.
    static func expected(wallNs ns: UInt64) -> String {
        var t = time_t(ns / 1_000_000_000)
        var tm = Glibc.tm()
        localtime_r(&t, &tm)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))/\(pad(tm.tm_mon + 1, 2))/\(pad(tm.tm_mday, 2)) "
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ns / 1_000_000 % 1000), 3))"
    }

    @Test func everyStampGetsItsOwnMillisecond() {
        let cache = StartTimeCache.make()
        defer { StartTimeCache.free(cache) }
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { out.deallocate() }
        let base = MonotonicClock.now()
        // Offsets in ns: same millisecond twice, the next millisecond, the next second, back to the start, far on.
        let offsets: [UInt64] = [0, 100, 999_999, 1_000_000, 1_000_001, 7_654_321, 1_000_000_000, 0, 1_500_000_000,
                                 59_999_000_000, 999_000, 3_600_000_000_000, 5]
        for o in offsets {
            var c = LineCursor(start: out)
            cache.pointee.write(base &+ o, into: &c)
            let text = String(decoding: UnsafeBufferPointer(start: out, count: c.pointer - out), as: UTF8.self)
            let wall = cache.pointee.wallNs(base &+ o)
            #expect(text == Self.expected(wallNs: wall), "offset \(o)")
        }
    }
}
