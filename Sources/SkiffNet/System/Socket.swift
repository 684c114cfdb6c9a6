import CSkiffLinux
import Glibc

/// Socket set-up helpers. Every function either succeeds or throws a `SystemError` naming the call.
public enum Socket {
    /// A TCP listening socket bound to `address`, SO_REUSEADDR on, close-on-exec.
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024, nonBlocking: Bool)
        throws(SystemError) -> Int32
    {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = try sysCall("socket") { Glibc.socket(address.family, type, 0) }
        _ = cskiff_set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        let rc = address.withSockAddr { Glibc.bind(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            throw SystemError("bind \(address)", errno: e)
        }
        if Glibc.listen(fd, backlog) != 0 {
            let e = errno
            Glibc.close(fd)
            throw SystemError("listen \(address)", errno: e)
        }
        return fd
    }

    /// A close-on-exec duplicate of `fd` (the same socket: its accept queue is shared).
    public static func duplicate(_ fd: Int32) throws(SystemError) -> Int32 {
        try sysCall("fcntl(F_DUPFD_CLOEXEC)") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    /// The local address a socket is bound to (the real port after binding port 0).
    public static func localAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }

    /// The peer address of a connected socket.
    public static func peerAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }

    /// Accepts one connection without waiting: the new fd (close-on-exec, non-blocking), `.wouldBlock`, or an errno.
    /// For pollers; a thread that waits for connections runs `AcceptLoop`.
    static func accept(_ listenFD: Int32) -> (IOResult, Int32) {
        let r = ioCall { Int(cskiff_accept4(listenFD, nil, nil)) }
        if case .done(let fd) = r { return (r, Int32(fd)) }
        return (r, -1)
    }

    /// A new non-blocking TCP socket with connect started. Returns the fd and whether it connected at once.
    /// `source` (tests only) binds the socket first.
    static func startConnect(to address: SocketAddress, from source: SocketAddress? = nil) throws(SystemError) -> (
        fd: Int32, connected: Bool
    ) {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = try sysCall("socket") { Glibc.socket(address.family, type, 0) }
        setNoDelay(fd)
        if let source, source.withSockAddr({ Glibc.bind(fd, $0, $1) }) != 0 {
            let e = errno
            Glibc.close(fd)
            throw SystemError("bind \(source)", errno: e)
        }
        while true {
            let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if rc == 0 { return (fd, true) }
            let e = errno
            if e == EINTR { continue }
            if e == EINPROGRESS { return (fd, false) }
            Glibc.close(fd)
            throw SystemError("connect \(address)", errno: e)
        }
    }

    /// Makes the coming close() reset the connection (SO_LINGER 0): no FIN exchange, no TIME_WAIT holding the port.
    static func setAbortiveClose(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    static func setNoDelay(_ fd: Int32) {
        _ = cskiff_set_int_opt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// Pending error of a socket (after a non-blocking connect), 0 when none.
    static func pendingError(_ fd: Int32) -> Int32 { cskiff_get_so_error(fd) }
}
