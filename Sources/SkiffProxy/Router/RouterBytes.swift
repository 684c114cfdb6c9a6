/// Byte helpers for the router's hot path: ASCII case folding and comparisons over raw buffers, no allocation.
enum RouterBytes {
    static let dot = UInt8(ascii: ".")
    static let colon = UInt8(ascii: ":")
    static let star = UInt8(ascii: "*")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")

    /// ASCII lower case; every other byte (including UTF-8 continuation bytes) unchanged.
    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }

    /// ASCII-lower-cased UTF-8 of `s`: the form domains and header names are stored in (build time only).
    static func lowercased(_ s: String) -> [UInt8] { s.utf8.map(lower) }

    /// `a[range]` equals `lowered`, folding ASCII case of `a` only (`lowered` is already lower case).
    @inline(__always)
    static func equalsFolded(_ a: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowered: [UInt8]) -> Bool {
        guard range.count == lowered.count else { return false }
        return lowered.withUnsafeBufferPointer { l in
            var i = 0
            var j = range.lowerBound
            while i < l.count {
                if lower(a[j]) != l[i] { return false }
                i += 1
                j += 1
            }
            return true
        }
    }

    /// `a` equals `b` byte for byte.
    @inline(__always)
    static func equals(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return b.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                if a[i] != b[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// `a` starts with `prefix`, byte for byte.
    @inline(__always)
    static func hasPrefix(_ a: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard a.count >= prefix.count else { return false }
        return prefix.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                if a[i] != p[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// The span of the request host between `[` `]` or before `:port`, and the port.
    struct HostPort {
        /// Host bytes, without IPv6 brackets.
        var host: Range<Int>
        /// Bytes after the `:`; nil when there is no port (an empty port, `"host:"`, counts as none).
        var port: Range<Int>?
        /// Unbalanced brackets or junk after `]`.
        var malformed: Bool
    }

    /// Splits `host[:port]`, `[v6]`, `[v6]:port`; a bare IPv6 literal (two or more colons, no brackets) is all host.
    static func splitHostPort(_ b: UnsafeRawBufferPointer) -> HostPort {
        let n = b.count
        if n > 0 && b[0] == openBracket {
            var close = 1
            while close < n && b[close] != closeBracket { close += 1 }
            if close == n { return HostPort(host: 0..<n, port: nil, malformed: true) }
            if close + 1 == n { return HostPort(host: 1..<close, port: nil, malformed: false) }
            if b[close + 1] != colon { return HostPort(host: 1..<close, port: nil, malformed: true) }
            let port = close + 2 < n ? (close + 2)..<n : nil
            return HostPort(host: 1..<close, port: port, malformed: false)
        }
        var firstColon = -1
        var i = 0
        while i < n {
            if b[i] == colon {
                if firstColon >= 0 { return HostPort(host: 0..<n, port: nil, malformed: false) }  // bare IPv6
                firstColon = i
            }
            i += 1
        }
        if firstColon < 0 { return HostPort(host: 0..<n, port: nil, malformed: false) }
        let port = firstColon + 1 < n ? (firstColon + 1)..<n : nil
        return HostPort(host: 0..<firstColon, port: port, malformed: false)
    }

    /// Decimal port 0...65535, or nil for anything else.
    static func parsePort(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int32? {
        guard !range.isEmpty, range.count <= 5 else { return nil }
        var v: Int32 = 0
        for i in range {
            let d = b[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            v = v * 10 + Int32(d)
        }
        return v <= 65535 ? v : nil
    }
}
