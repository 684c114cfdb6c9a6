import CSkiffLinux
import Glibc

/// An IPv4 or IPv6 socket address, stored as the C struct so syscalls take it without conversion.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(sockaddr_in)
    case v6(sockaddr_in6)

    /// Parses an IP literal and port (no name resolution).
    public init?(ip: String, port: Int) {
        guard (0...65535).contains(port) else { return nil }
        var a4 = sockaddr_in()
        if inet_pton(AF_INET, ip, &a4.sin_addr) == 1 {
            a4.sin_family = sa_family_t(AF_INET)
            a4.sin_port = in_port_t(UInt16(port)).bigEndian
            self = .v4(a4)
            return
        }
        var a6 = sockaddr_in6()
        let bare = ip.hasPrefix("[") && ip.hasSuffix("]") ? String(ip.dropFirst().dropLast()) : ip
        if inet_pton(AF_INET6, bare, &a6.sin6_addr) == 1 {
            a6.sin6_family = sa_family_t(AF_INET6)
            a6.sin6_port = in_port_t(UInt16(port)).bigEndian
            self = .v6(a6)
            return
        }
        return nil
    }

    /// Resolves `host` (an IP literal or a name such as "localhost") and returns the first address.
    /// Blocking: use it at configuration time, never on the hot path.
    public static func resolve(host: String, port: Int) throws(SystemError) -> SocketAddress {
        if let a = SocketAddress(ip: host, port: port) { return a }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            throw SystemError("getaddrinfo(\(host)): \(String(cString: gai_strerror(rc)))", errno: EINVAL)
        }
        defer { freeaddrinfo(res) }
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if ai.pointee.ai_family == AF_INET, let sa = ai.pointee.ai_addr {
                return .v4(UnsafeRawPointer(sa).load(as: sockaddr_in.self))
            }
            if ai.pointee.ai_family == AF_INET6, let sa = ai.pointee.ai_addr {
                return .v6(UnsafeRawPointer(sa).load(as: sockaddr_in6.self))
            }
            p = ai.pointee.ai_next
        }
        throw SystemError("getaddrinfo(\(host)): no IPv4/IPv6 address", errno: EINVAL)
    }

    public var family: Int32 {
        switch self {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    public var port: Int {
        switch self {
        case .v4(let a): return Int(UInt16(bigEndian: a.sin_port))
        case .v6(let a): return Int(UInt16(bigEndian: a.sin6_port))
        }
    }

    /// The IP as text, without port.
    public var ip: String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxTextLength) { buf in
            String(decoding: UnsafeBufferPointer(rebasing: buf[..<writeIP(to: buf.baseAddress!)]), as: UTF8.self)
        }
    }

    /// `ip:port`, IPv6 in brackets.
    public var description: String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxTextLength) { buf in
            String(decoding: UnsafeBufferPointer(rebasing: buf[..<writeText(to: buf.baseAddress!)]), as: UTF8.self)
        }
    }

    /// The longest `writeText` writes: `[` 45 characters of IPv6 `]:65535`.
    public static let maxTextLength = 56

    /// Writes `description`'s bytes to `p` (room for `maxTextLength`) without building a String; returns how many.
    /// Connection events call it for every accepted connection.
    public func writeText(to p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        if case .v6 = self {
            p[0] = UInt8(ascii: "[")
            n = 1
        }
        n += writeIP(to: p + n)
        if case .v6 = self {
            p[n] = UInt8(ascii: "]")
            n += 1
        }
        p[n] = UInt8(ascii: ":")
        n += 1
        var port = UInt16(truncatingIfNeeded: self.port)
        var digits = 1
        var probe = port
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        for index in stride(from: n + digits - 1, through: n, by: -1) {
            p[index] = UInt8(ascii: "0") + UInt8(port % 10)
            port /= 10
        }
        return n + digits
    }

    /// The IP as text. IPv4 is formatted here (inet_ntop goes through sprintf: a few thousand instructions, paid
    /// per accepted connection for X-Forwarded-For and the connection event).
    private func writeIP(to p: UnsafeMutablePointer<UInt8>) -> Int {
        switch self {
        case .v4(let a):
            let v = UInt32(bigEndian: a.sin_addr.s_addr)
            var n = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = Int((v >> UInt32(shift)) & 0xFF)
                if octet >= 100 {
                    p[n] = UInt8(ascii: "0") + UInt8(octet / 100)
                    n += 1
                }
                if octet >= 10 {
                    p[n] = UInt8(ascii: "0") + UInt8(octet / 10 % 10)
                    n += 1
                }
                p[n] = UInt8(ascii: "0") + UInt8(octet % 10)
                n += 1
                if shift > 0 {
                    p[n] = UInt8(ascii: ".")
                    n += 1
                }
            }
            return n
        case .v6(var a):
            return p.withMemoryRebound(to: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { c in
                guard inet_ntop(AF_INET6, &a.sin6_addr, c, socklen_t(INET6_ADDRSTRLEN)) != nil else { return 0 }
                return strlen(c)
            }
        }
    }

    /// Calls `body` with a C sockaddr pointer and length.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        switch self {
        case .v4(var a):
            return try withUnsafePointer(to: &a) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(var a):
            return try withUnsafePointer(to: &a) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// Reads an address from a `sockaddr_storage`.
    init?(storage: sockaddr_storage) {
        var s = storage
        switch Int32(s.ss_family) {
        case AF_INET:
            self = withUnsafeBytes(of: &s) { .v4($0.load(as: sockaddr_in.self)) }
        case AF_INET6:
            self = withUnsafeBytes(of: &s) { .v6($0.load(as: sockaddr_in6.self)) }
        default:
            return nil
        }
    }

    public static func == (l: SocketAddress, r: SocketAddress) -> Bool { l.description == r.description }

    /// Same family, address and port, compared as bytes (no text; for the connect path).
    func isSameEndpoint(as other: SocketAddress) -> Bool {
        switch (self, other) {
        case (.v4(let a), .v4(let b)):
            return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr
        case (.v6(var a), .v6(var b)):
            guard a.sin6_port == b.sin6_port else { return false }
            return memcmp(&a.sin6_addr, &b.sin6_addr, MemoryLayout<in6_addr>.size) == 0
        default:
            return false
        }
    }
    public func hash(into h: inout Hasher) { h.combine(description) }
}

extension sockaddr_in: @retroactive @unchecked Sendable {}
extension sockaddr_in6: @retroactive @unchecked Sendable {}
