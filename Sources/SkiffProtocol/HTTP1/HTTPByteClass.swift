/// Byte classes of RFC 9110/9112 as one 256-entry lookup table, so every per-byte test in the parser is a load and
/// a mask instead of a chain of comparisons.
///
/// The table is built once and never written again, so sharing its pointer between threads is safe; hot loops copy
/// `table` into a local before looping so the lazy-global check happens once per message, not per byte.
enum HTTPByteClass {
    /// `tchar`: may appear in a method, a header name, a transfer-coding or a Connection token.
    static let token: UInt8 = 0x01
    /// `field-vchar / SP / HTAB`: may appear in a header value (and a reason phrase, a chunk extension, a trailer).
    static let fieldValue: UInt8 = 0x02
    /// May appear in a request target: any VCHAR except `#` (a fragment is never sent), plus obs-text bytes, which
    /// browsers and nginx let through. Never SP, never a CTL.
    static let target: UInt8 = 0x04
    /// May appear in a Host value or a target's authority: unreserved, sub-delims, `:`, `[`, `]`, `%`.
    static let host: UInt8 = 0x08

    nonisolated(unsafe) static let table: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for i in 0..<256 { t[i] = classify(UInt8(i)) }
        return UnsafePointer(t)
    }()

    private static func classify(_ b: UInt8) -> UInt8 {
        let isAlpha = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        let isDigit = b >= 0x30 && b <= 0x39
        let isVChar = b >= 0x21 && b <= 0x7E
        var c: UInt8 = 0
        // tchar (RFC 9110 §5.6.2): ALPHA, DIGIT and these.
        if isAlpha || isDigit || "!#$%&'*+-.^_`|~".utf8.contains(b) { c |= token }
        if isVChar || b == 0x20 || b == 0x09 || b >= 0x80 { c |= fieldValue }
        if (isVChar && b != UInt8(ascii: "#")) || b >= 0x80 { c |= target }
        if isAlpha || isDigit || "-._~!$&'()*+,;=:[]%".utf8.contains(b) { c |= host }
        return c
    }

    /// True when every byte of `bytes[start..<start+count]` is a valid Host/authority byte.
    @inline(__always)
    static func isValidHost(_ bytes: UnsafeRawBufferPointer, start: Int, count: Int) -> Bool {
        let t = table
        var i = start
        let end = start + count
        while i < end {
            if t[Int(bytes[i])] & host == 0 { return false }
            i += 1
        }
        return true
    }

    /// The value of a hex digit, or nil.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> Int? {
        let d = b &- 0x30
        if d < 10 { return Int(d) }
        let l = (b | 0x20) &- 0x61
        if l < 6 { return Int(l) + 10 }
        return nil
    }
}

/// Byte constants, named so the parser reads like the grammar.
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let ht: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let semicolon: UInt8 = 0x3B
    static let slash: UInt8 = 0x2F
    static let dot: UInt8 = 0x2E
    static let percent: UInt8 = 0x25
    static let question: UInt8 = 0x3F
    static let star: UInt8 = 0x2A
    static let at: UInt8 = 0x40
    static let zero: UInt8 = 0x30
}
