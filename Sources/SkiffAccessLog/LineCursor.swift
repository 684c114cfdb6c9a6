import CSkiffLinux

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

    /// Runs up to 32 bytes (separators, addresses, names) are copied inline with two overlapping loads and stores,
    /// not through a `memcpy` call.
    @inline(__always)
    mutating func bytes(_ b: UnsafeRawBufferPointer) {
        let n = b.count
        guard n > 0, let src = b.baseAddress else { return }
        let dst = UnsafeMutableRawPointer(pointer)
        if n >= 16 && n <= 32 {
            dst.storeBytes(of: src.loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
            (dst + n - 16).storeBytes(
                of: (src + n - 16).loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
        } else if n >= 8 && n < 16 {
            dst.storeBytes(of: src.loadUnaligned(as: UInt64.self), as: UInt64.self)
            (dst + n - 8).storeBytes(of: (src + n - 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
        } else if n < 8 {
            for i in 0..<n { pointer[i] = src.load(fromByteOffset: i, as: UInt8.self) }
        } else {
            dst.copyMemory(from: src, byteCount: n)
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

    /// "00" to "99": two digits per division when writing numbers. A literal: read-only data, no initialisation.
    @inline(__always)
    static var digitPairs: UnsafeRawPointer {
        let pairs: StaticString = """
            00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899
            """
        return UnsafeRawPointer(pairs.utf8Start)
    }

    /// `v` in decimal: up to three digits (ids, status codes, small sizes) without a loop.
    @inline(__always)
    mutating func decimal(_ v: UInt64) {
        if v < 1_000 { return belowThousand(v) }
        let n = Self.digits(v)
        Self.writeDigits(v, ending: pointer + n)
        pointer += n
    }

    /// The digits of `v` (at least 10) written backwards so that they end just before `end`.
    @inline(__always)
    static func writeDigits(_ v: UInt64, ending end: UnsafeMutablePointer<UInt8>) {
        let pairs = digitPairs
        var x = v
        var p = UnsafeMutableRawPointer(end)
        while x >= 100 {
            let q = x / 100
            let pair = Int(truncatingIfNeeded: x &- q &* 100)
            p -= 2
            p.storeBytes(of: pairs.loadUnaligned(fromByteOffset: 2 &* pair, as: UInt16.self), as: UInt16.self)
            x = q
        }
        if x >= 10 {
            p -= 2
            p.storeBytes(
                of: pairs.loadUnaligned(fromByteOffset: 2 &* Int(truncatingIfNeeded: x), as: UInt16.self),
                as: UInt16.self)
        } else {
            p -= 1
            p.storeBytes(of: UInt8(truncatingIfNeeded: x) &+ 48, as: UInt8.self)
        }
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
    /// directly: the whole units, then the fraction in groups of three digits with trailing zeros dropped, as Go's
    /// `fmtFrac` leaves them out; the rest by `GoDuration`.
    @inline(__always)
    mutating func goDuration(_ ns: Int64) {
        if ns <= 0 || ns >= 1_000_000_000 {
            pointer += GoDuration.write(ns, into: pointer)
            return
        }
        let u = UInt64(ns)
        if u < 1_000 {
            belowThousand(u)
            storeTwo(UInt8(ascii: "n"), UInt8(ascii: "s"))
        } else if u < 1_000_000 {
            let whole = u / 1_000
            belowThousand(whole)
            let fraction = u &- whole &* 1_000
            if fraction != 0 {
                pointer.pointee = UInt8(ascii: ".")
                pointer += 1
                trimmedThree(fraction)
            }
            // U+00B5 MICRO SIGN, 0xC2 0xB5, as Go writes it.
            pointer[0] = 0xC2
            pointer[1] = 0xB5
            pointer[2] = UInt8(ascii: "s")
            pointer += 3
        } else {
            let whole = u / 1_000_000
            belowThousand(whole)
            let fraction = u &- whole &* 1_000_000
            if fraction != 0 {
                pointer.pointee = UInt8(ascii: ".")
                pointer += 1
                let high = fraction / 1_000
                let low = fraction &- high &* 1_000
                if low == 0 {
                    trimmedThree(high)
                } else {
                    Self.threeDigits(high, at: pointer)
                    pointer += 3
                    trimmedThree(low)
                }
            }
            storeTwo(UInt8(ascii: "m"), UInt8(ascii: "s"))
        }
    }

    @inline(__always)
    private mutating func storeTwo(_ a: UInt8, _ b: UInt8) {
        pointer[0] = a
        pointer[1] = b
        pointer += 2
    }

    /// `v` (0 to 999) in decimal.
    @inline(__always)
    mutating func belowThousand(_ v: UInt64) {
        if v < 10 {
            pointer.pointee = UInt8(truncatingIfNeeded: v) &+ 48
            pointer += 1
        } else if v < 100 {
            UnsafeMutableRawPointer(pointer).storeBytes(
                of: Self.digitPairs.loadUnaligned(fromByteOffset: 2 &* Int(truncatingIfNeeded: v), as: UInt16.self),
                as: UInt16.self)
            pointer += 2
        } else {
            Self.threeDigits(v, at: pointer)
            pointer += 3
        }
    }

    /// Three digits of `v` (0 to 999), leading zeros included, at `p` (one table load and one store; the fourth
    /// byte written is scratch, overwritten by what follows).
    @inline(__always)
    static func threeDigits(_ v: UInt64, at p: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(p).storeBytes(of: cskiff_digit_triples[Int(truncatingIfNeeded: v)], as: UInt32.self)
    }

    /// The last group of a fraction: `v` (1 to 999) as three digits with its trailing zeros left out.
    @inline(__always)
    mutating func trimmedThree(_ v: UInt64) {
        let entry = cskiff_digit_triples[Int(truncatingIfNeeded: v)]
        UnsafeMutableRawPointer(pointer).storeBytes(of: entry, as: UInt32.self)
        pointer += Int(truncatingIfNeeded: entry >> 24)
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
