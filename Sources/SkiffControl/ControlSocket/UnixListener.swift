import Glibc
import SkiffSystem

/// Creating, probing and removing the control socket file. Called from `ControlServer.start`/`stop` only.
struct UnixListener {
    let fd: Int32
    /// Device and inode of the socket file created by `bind`.
    let identity: (dev: UInt64, ino: UInt64)?

    /// Binds and listens at `path` with mode 0600, replacing a stale socket file.
    /// With `takeOver`, binds at `path.<pid>.new` and renames it over `path` (a live server's file included).
    static func open(path: String, backlog: Int32, takeOver: Bool = false) throws(ControlError) -> UnixListener {
        guard takeOver else { return try open(path: path, backlog: backlog) }
        let temp = "\(path).\(getpid()).new"
        let l = try open(path: temp, backlog: backlog)
        guard rename(temp, path) == 0 else {
            let e = errno
            SocketIO.close(l.fd)
            _ = unlink(temp)
            throw ControlError("control socket \(path)", "rename over the running server's socket", errno: e)
        }
        return l  // rename keeps the inode: the identity still names our file
    }

    private static func open(path: String, backlog: Int32) throws(ControlError) -> UnixListener {
        let context = "control socket \(path)"
        guard !path.isEmpty else { throw ControlError(context, "empty path") }
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw ControlError(
                context, "path too long (\(path.utf8.count) bytes; a Unix socket path must be under 108)")
        }
        try SocketDirectory.check(forSocket: path)
        try clearStale(path: path, context: context)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(context, "socket", errno: errno) }
        // On Linux the file bind() creates takes the socket inode's mode (minus the umask), so fchmod before bind
        // makes it 0600 from its first instant, without touching the process-wide umask other threads rely on.
        _ = fchmod(fd, 0o600)
        var (addr, len) = address(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        if bound != 0 {
            let e = errno
            SocketIO.close(fd)
            if e == EADDRINUSE {
                throw ControlError(context, "the path was taken while starting (another server starting?)")
            }
            throw ControlError(context, "bind", errno: e)
        }
        // Belt and braces for filesystems that ignore the socket inode's mode.
        if chmod(path, 0o600) != 0 {
            let e = errno
            SocketIO.close(fd)
            _ = unlink(path)
            throw ControlError(context, "chmod 0600", errno: e)
        }
        if listen(fd, backlog) != 0 {
            let e = errno
            SocketIO.close(fd)
            _ = unlink(path)
            throw ControlError(context, "listen", errno: e)
        }
        var st = stat()
        let identity: (dev: UInt64, ino: UInt64)? =
            lstat(path, &st) == 0 ? (UInt64(st.st_dev), UInt64(st.st_ino)) : nil
        return UnixListener(fd: fd, identity: identity)
    }

    /// Removes the socket file if it is still the one we created.
    static func removeIfOurs(path: String, identity: (dev: UInt64, ino: UInt64)?) {
        guard let identity else { return }
        var st = stat()
        guard lstat(path, &st) == 0, UInt64(st.st_dev) == identity.dev, UInt64(st.st_ino) == identity.ino else {
            return
        }
        _ = unlink(path)
    }

    static func address(_ path: String) -> (sockaddr_un, socklen_t) {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let len = MemoryLayout<sa_family_t>.size + bytes.count + 1
        return (addr, socklen_t(len))
    }

    /// A socket file with a live server behind it is refused; one nobody listens on is left over from a crash and
    /// removed. Anything else at the path is refused rather than deleted.
    static func clearStale(path: String, context: String) throws(ControlError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw ControlError(context, "lstat", errno: errno)
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw ControlError(context, "the path exists and is not a socket; refusing to replace it")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw ControlError(context, "socket", errno: errno) }
        defer { SocketIO.close(probe) }
        var (addr, len) = address(path)
        var rc: Int32
        repeat {
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, len) }
            }
        } while rc != 0 && errno == EINTR
        if rc == 0 {
            throw ControlError(context, "another server is already listening there")
        }
        switch errno {
        case ECONNREFUSED, ENOENT:
            if unlink(path) != 0 && errno != ENOENT {
                throw ControlError(context, "removing the stale socket file", errno: errno)
            }
        case EAGAIN:
            // Listening but its backlog is full: alive.
            throw ControlError(context, "another server is already listening there (its backlog is full)")
        default:
            throw ControlError(context, "cannot tell whether a server is listening there", errno: errno)
        }
    }
}
