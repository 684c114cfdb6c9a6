import Glibc
import SkiffSystem

/// Binding the admin listener and naming peers. Called from `AdminHTTPServer` only.
enum TCPListener {
    /// A listening socket on `host:port` and the port it got.
    static func open(host: String, port: Int, context: String, reusePort: Bool = false) throws(ControlError)
        -> (fd: Int32, port: Int)
    {
        guard (0...65535).contains(port) else { throw ControlError(context, "port \(port) out of range") }
        var host = host
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if host.contains(":") {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else {
                throw ControlError(context, "not an IPv6 address: \(host)")
            }
            withUnsafeBytes(of: a) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else {
                throw ControlError(context, "not an IPv4 address: \(host)")
            }
            withUnsafeBytes(of: a) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        // Non-blocking: after a poll says "ready", accept must not block if someone else (the other process of a
        // binary upgrade, sharing the socket) took the connection first.
        let fd = socket(
            family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ControlError(context, "socket", errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        // A binary upgrade starts the new process's admin API while the old one still serves on the same port
        // (same user: the kernel allows the pair only when both set SO_REUSEPORT).
        if reusePort { _ = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        if bound != 0 {
            let e = errno
            SocketIO.close(fd)
            if e == EADDRINUSE {
                throw ControlError(context, "the port is already in use (another skiff with the same admin address?)")
            }
            throw ControlError(context, "bind", errno: e)
        }
        if listen(fd, 128) != 0 {
            let e = errno
            SocketIO.close(fd)
            throw ControlError(context, "listen", errno: e)
        }
        return (fd, localPort(fd))
    }

    /// The port a socket is bound to (0 when unknown).
    static func localPort(_ fd: Int32) -> Int {
        var local = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        return portOf(local)
    }

    /// `127.0.0.1:53122` or `[::1]:53122`; empty when unknown.
    static func peerAddress(_ fd: Int32) -> String {
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return "" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        func string() -> String {
            String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        switch Int32(peer.ss_family) {
        case AF_INET:
            var a = withUnsafeBytes(of: peer) { $0.load(as: sockaddr_in.self) }
            _ = inet_ntop(AF_INET, &a.sin_addr, &text, socklen_t(text.count))
            return "\(string()):\(portOf(peer))"
        case AF_INET6:
            var a = withUnsafeBytes(of: peer) { $0.load(as: sockaddr_in6.self) }
            _ = inet_ntop(AF_INET6, &a.sin6_addr, &text, socklen_t(text.count))
            return "[\(string())]:\(portOf(peer))"
        default:
            return ""
        }
    }

    private static func portOf(_ storage: sockaddr_storage) -> Int {
        switch Int32(storage.ss_family) {
        case AF_INET:
            return Int(UInt16(bigEndian: withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }.sin_port))
        case AF_INET6:
            return Int(UInt16(bigEndian: withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }.sin6_port))
        default: return 0
        }
    }
}
