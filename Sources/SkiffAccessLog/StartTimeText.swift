import Glibc

/// MOSN's `start_time` text, `2006/01/02 15:04:05.000` in local time, from a request's monotonic arrival stamp.
///
/// No clock is read per line: the wall clock's offset from the monotonic clock is read once a second (two
/// `clock_gettime` through the vDSO), the seconds part of the text (19 bytes, `localtime_r`) is formatted once per
/// second and the milliseconds once per millisecond; a line in the same millisecond as the lane's last one copies the
/// text. One per lane, reached through a pointer (no reference counting); only its lane's producer touches it.
struct StartTimeCache {
    /// Seconds since the epoch `text` shows; -1 before the first line.
    var second = -1
    /// Milliseconds since the epoch `text` shows, its `.ddd` included; `.max` before the first line.
    var millisecond = UInt64.max
    /// Wall ns minus monotonic ns, and until when (monotonic ns) it is taken as it is.
    var offsetNs: Int64 = 0
    var offsetUntilNs: UInt64 = 0
    let text: UnsafeMutablePointer<UInt8>

    static func make() -> UnsafeMutablePointer<StartTimeCache> {
        // 32 bytes: room for the 23 of the text and the 16-byte loads in `write`.
        let text = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        text.initialize(repeating: UInt8(ascii: "0"), count: 32)
        let p = UnsafeMutablePointer<StartTimeCache>.allocate(capacity: 1)
        p.initialize(to: StartTimeCache(text: text))
        return p
    }

    static func free(_ p: UnsafeMutablePointer<StartTimeCache>) {
        p.pointee.text.deallocate()
        p.deinitialize(count: 1)
        p.deallocate()
    }

    /// Wall-clock ns since the epoch of monotonic `monoNs`.
    @inline(__always)
    mutating func wallNs(_ monoNs: UInt64) -> UInt64 {
        if monoNs >= offsetUntilNs { refreshOffset() }
        return UInt64(bitPattern: Int64(bitPattern: monoNs) &+ offsetNs)
    }

    @inline(never)
    mutating func refreshOffset() {
        var wall = timespec()
        var mono = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        let w = Int64(wall.tv_sec) &* 1_000_000_000 &+ Int64(wall.tv_nsec)
        let m = Int64(mono.tv_sec) &* 1_000_000_000 &+ Int64(mono.tv_nsec)
        offsetNs = w &- m
        offsetUntilNs = UInt64(m) &+ 1_000_000_000
    }

    /// Writes the local time of monotonic `monoNs`: the cached text when the line falls in the same millisecond as
    /// the lane's last one (many lines do, under load), else the millisecond digits put in first.
    @inline(__always)
    mutating func write(_ monoNs: UInt64, into c: inout LineCursor) {
        let wall = wallNs(monoNs)
        let ms = wall / 1_000_000
        if ms != millisecond { setMillisecond(ms) }
        // 23 bytes as two overlapping 16-byte loads and stores, not a memcpy call.
        let src = UnsafeRawPointer(text)
        let dst = UnsafeMutableRawPointer(c.pointer)
        dst.storeBytes(of: src.loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
        (dst + 7).storeBytes(of: (src + 7).loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
        c.pointer += 23
    }

    /// The text of millisecond `ms` since the epoch: its second's part when that changed, then `.ddd`.
    @inline(__always)
    mutating func setMillisecond(_ ms: UInt64) {
        millisecond = ms
        let s = Int(ms / 1000)
        if s != second { formatSecond(s) }
        let m = UInt32(truncatingIfNeeded: ms &- UInt64(s) &* 1000)
        let hundreds = m / 100
        let rest = m &- hundreds &* 100
        let tens = rest / 10
        text[19] = UInt8(ascii: ".")
        text[20] = UInt8(truncatingIfNeeded: hundreds) &+ 48
        text[21] = UInt8(truncatingIfNeeded: tens) &+ 48
        text[22] = UInt8(truncatingIfNeeded: rest &- tens &* 10) &+ 48
    }

    @inline(never)
    mutating func formatSecond(_ s: Int) {
        second = s
        var t = time_t(s)
        var tm = Glibc.tm()
        localtime_r(&t, &tm)
        let text = self.text
        func put(_ at: Int, _ v: Int32, _ digits: Int) {
            var v = Int(v)
            for i in stride(from: digits - 1, through: 0, by: -1) {
                text[at + i] = UInt8(truncatingIfNeeded: v % 10) &+ 48
                v /= 10
            }
        }
        put(0, tm.tm_year + 1900, 4)
        text[4] = UInt8(ascii: "/")
        put(5, tm.tm_mon + 1, 2)
        text[7] = UInt8(ascii: "/")
        put(8, tm.tm_mday, 2)
        text[10] = UInt8(ascii: " ")
        put(11, tm.tm_hour, 2)
        text[13] = UInt8(ascii: ":")
        put(14, tm.tm_min, 2)
        text[16] = UInt8(ascii: ":")
        put(17, tm.tm_sec, 2)
    }
}
