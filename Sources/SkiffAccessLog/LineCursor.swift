/// Writes one access-log line into a lane's buffer, in place: bytes, decimal and hex numbers, Go durations, escaped
/// values. It checks nothing: the caller has made room for the line's worst case first
/// (`CompiledAccessLogFormat.maxLength`), so a line is written in one pass with no test per byte or per value.
///
/// A value type on the stack of the executor formatting the line: nothing here allocates or locks.
struct LineCursor {
    var pointer: UnsafeMutablePointer<UInt8>

    init(start: UnsafeMutablePointer<UInt8>) { pointer = start }

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { pointer = buffer.baseAddress! }

    /// The most bytes `decimal` writes.
    static let maxDecimal = 20
    /// The most bytes `hex` writes.
    static let maxHex = 18

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        pointer.pointee = b
        pointer += 1
    }

    /// Short runs (a separator) are copied inline, not through `memcpy`.
    @inline(__always)
    mutating func bytes(_ b: UnsafeRawBufferPointer) {
        let n = b.count
        guard n > 0, let src = b.baseAddress else { return }
        if n <= 8 {
            for i in 0..<n { pointer[i] = src.load(fromByteOffset: i, as: UInt8.self) }
        } else {
            UnsafeMutableRawPointer(pointer).copyMemory(from: src, byteCount: n)
        }
        pointer += n
    }

    @inline(__always)
    mutating func bytes(_ s: StaticString) {
        bytes(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func bytes(_ b: [UInt8]) {
        b.withUnsafeBytes { bytes($0) }
    }

    @inline(__always)
    mutating func dash() { byte(UInt8(ascii: "-")) }

    /// `v` in decimal.
    @inline(__always)
    mutating func decimal(_ v: UInt64) {
        if v < 10 {
            pointer.pointee = UInt8(truncatingIfNeeded: v) &+ 48
            pointer += 1
            return
        }
        let n = Self.digits(v)
        var x = v
        var p = pointer + n
        while x >= 10 {
            let q = x / 10
            p -= 1
            p.pointee = UInt8(truncatingIfNeeded: x &- q &* 10) &+ 48
            x = q
        }
        p -= 1
        p.pointee = UInt8(truncatingIfNeeded: x) &+ 48
        pointer += n
    }

    /// Decimal digits of `v` (at least 1).
    @inline(__always)
    static func digits(_ v: UInt64) -> Int {
        if v < 10_000 { return v < 10 ? 1 : v < 100 ? 2 : v < 1_000 ? 3 : 4 }
        var n = 5
        var x = v / 100_000
        while x > 0 {
            n += 1
            x /= 10
        }
        return n
    }

    mutating func decimal(_ v: Int) {
        if v < 0 {
            byte(UInt8(ascii: "-"))
            decimal(UInt64(v.magnitude))
        } else {
            decimal(UInt64(v))
        }
    }

    /// `v` as `0x` and lower-case hex digits (`0x0` for zero).
    mutating func hex(_ v: UInt64) {
        pointer[0] = UInt8(ascii: "0")
        pointer[1] = UInt8(ascii: "x")
        var n = 1
        var x = v >> 4
        while x > 0 {
            x >>= 4
            n += 1
        }
        var p = pointer + 2 + n
        x = v
        for _ in 0..<n {
            p -= 1
            p.pointee = Self.hexDigit(UInt8(truncatingIfNeeded: x & 0xf))
            x >>= 4
        }
        pointer += 2 + n
    }

    /// `ns` nanoseconds as Go's `time.Duration.String()` writes them (`0s`, `350ns`, `1.503ms`, `12µs`, `2.1s`,
    /// `1m0.5s`, `2h3m4s`); at most `GoDuration.maxBytes`. Under a second (a request's usual durations) written
    /// directly; the rest by `GoDuration`.
    @inline(__always)
    mutating func goDuration(_ ns: Int64) {
        if ns <= 0 || ns >= 1_000_000_000 {
            pointer += GoDuration.write(ns, into: pointer)
            return
        }
        let u = UInt64(ns)
        if u < 1_000 {
            decimal(u)
            pointer[0] = UInt8(ascii: "n")
            pointer[1] = UInt8(ascii: "s")
            pointer += 2
        } else if u < 1_000_000 {
            fixedPoint(u, scale: 1_000, digits: 3)
            // U+00B5 MICRO SIGN, 0xC2 0xB5, as Go writes it.
            pointer[0] = 0xC2
            pointer[1] = 0xB5
            pointer[2] = UInt8(ascii: "s")
            pointer += 3
        } else {
            fixedPoint(u, scale: 1_000_000, digits: 6)
            pointer[0] = UInt8(ascii: "m")
            pointer[1] = UInt8(ascii: "s")
            pointer += 2
        }
    }

    /// `u / scale` with its fraction (`digits` places) as Go writes it: trailing zeros and a bare point left out.
    @inline(__always)
    private mutating func fixedPoint(_ u: UInt64, scale: UInt64, digits: Int) {
        let whole = u / scale
        var fraction = u &- whole &* scale
        decimal(whole)
        guard fraction != 0 else { return }
        var n = digits
        while fraction % 10 == 0 {
            fraction /= 10
            n -= 1
        }
        pointer.pointee = UInt8(ascii: ".")
        var p = pointer + 1 + n
        for _ in 0..<n {
            let q = fraction / 10
            p -= 1
            p.pointee = UInt8(truncatingIfNeeded: fraction &- q &* 10) &+ 48
            fraction = q
        }
        pointer += 1 + n
    }

    /// `value` for a text line: bytes below 0x20 and 0x7f as `\xHH`, so a value never breaks its line (at most 4
    /// bytes per byte).
    mutating func textEscaped(_ value: UnsafeRawBufferPointer) {
        var p = pointer
        for b in value {
            if b >= 0x20 && b != 0x7f {
                p.pointee = b
                p += 1
            } else {
                p[0] = UInt8(ascii: "\\")
                p[1] = UInt8(ascii: "x")
                p[2] = Self.hexDigit(b >> 4)
                p[3] = Self.hexDigit(b & 0xf)
                p += 4
            }
        }
        pointer = p
    }

    /// `value` inside a JSON string: `"` and `\` escaped, control bytes as `\n`, `\t`, ... or `\u00XX` (at most 6
    /// bytes per byte). Bytes that are not valid UTF-8 are written as they are (header values are not checked).
    mutating func jsonEscaped(_ value: UnsafeRawBufferPointer) {
        var p = pointer
        for b in value {
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != 0x7f {
                p.pointee = b
                p += 1
                continue
            }
            p[0] = UInt8(ascii: "\\")
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                p[1] = b
                p += 2
            case 0x0a:
                p[1] = UInt8(ascii: "n")
                p += 2
            case 0x0d:
                p[1] = UInt8(ascii: "r")
                p += 2
            case 0x09:
                p[1] = UInt8(ascii: "t")
                p += 2
            default:
                p[1] = UInt8(ascii: "u")
                p[2] = UInt8(ascii: "0")
                p[3] = UInt8(ascii: "0")
                p[4] = Self.hexDigit(b >> 4)
                p[5] = Self.hexDigit(b & 0xf)
                p += 6
            }
        }
        pointer = p
    }

    @inline(__always)
    static func hexDigit(_ d: UInt8) -> UInt8 { d < 10 ? d &+ 48 : d &+ 87 }
}

/// Go's `time.Duration.String()`, byte for byte (`src/time/time.go`): the unit MOSN's access logs print durations in.
public enum GoDuration {
    /// The longest text (`-2562047h47m16.854775808s`).
    static let maxBytes = 32

    /// Writes the text of `ns` at `out` (which must have `maxBytes` of room); returns its length.
    static func write(_ ns: Int64, into out: UnsafeMutablePointer<UInt8>) -> Int {
        // Built from the end of a 32-byte scratch area, as Go does, then moved to the front.
        var w = maxBytes
        var u = ns < 0 ? UInt64(bitPattern: 0 &- ns) : UInt64(ns)
        let negative = ns < 0
        let second: UInt64 = 1_000_000_000
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes) { buf in
            if u < second {
                var prec = 0
                w -= 1
                buf[w] = UInt8(ascii: "s")
                w -= 1
                if u == 0 {
                    out[0] = UInt8(ascii: "0")
                    out[1] = UInt8(ascii: "s")
                    return 2
                } else if u < 1_000 {
                    prec = 0
                    buf[w] = UInt8(ascii: "n")
                } else if u < 1_000_000 {
                    prec = 3
                    // U+00B5 MICRO SIGN, 0xC2 0xB5, as Go writes it.
                    w -= 1
                    buf[w] = 0xC2
                    buf[w + 1] = 0xB5
                } else {
                    prec = 6
                    buf[w] = UInt8(ascii: "m")
                }
                (w, u) = fraction(buf, w, u, prec)
                w = integer(buf, w, u)
            } else {
                w -= 1
                buf[w] = UInt8(ascii: "s")
                (w, u) = fraction(buf, w, u, 9)
                w = integer(buf, w, u % 60)
                u /= 60
                if u > 0 {
                    w -= 1
                    buf[w] = UInt8(ascii: "m")
                    w = integer(buf, w, u % 60)
                    u /= 60
                    if u > 0 {
                        w -= 1
                        buf[w] = UInt8(ascii: "h")
                        w = integer(buf, w, u)
                    }
                }
            }
            if negative {
                w -= 1
                buf[w] = UInt8(ascii: "-")
            }
            let n = maxBytes - w
            out.update(from: buf.baseAddress! + w, count: n)
            return n
        }
    }

    /// Go's `fmtFrac`: the fraction of `v / 10^prec` before `w`, trailing zeros (and a bare point) left out.
    private static func fraction(_ buf: UnsafeMutableBufferPointer<UInt8>, _ w: Int, _ v: UInt64, _ prec: Int)
        -> (Int, UInt64)
    {
        var w = w
        var v = v
        var print = false
        for _ in 0..<prec {
            let digit = v % 10
            print = print || digit != 0
            if print {
                w -= 1
                buf[w] = UInt8(truncatingIfNeeded: digit) &+ 48
            }
            v /= 10
        }
        if print {
            w -= 1
            buf[w] = UInt8(ascii: ".")
        }
        return (w, v)
    }

    /// Go's `fmtInt`: `v` in decimal before `w`.
    private static func integer(_ buf: UnsafeMutableBufferPointer<UInt8>, _ w: Int, _ v: UInt64) -> Int {
        var w = w
        var v = v
        if v == 0 {
            w -= 1
            buf[w] = UInt8(ascii: "0")
            return w
        }
        while v > 0 {
            w -= 1
            buf[w] = UInt8(truncatingIfNeeded: v % 10) &+ 48
            v /= 10
        }
        return w
    }

    /// The text of `ns`, for tests and messages.
    public static func text(_ ns: Int64) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes) { out in
            let n = write(ns, into: out.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: out[0..<n]), as: UTF8.self)
        }
    }
}
