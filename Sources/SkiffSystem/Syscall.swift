import CSkiffLinux
import Glibc

/// An error from the operating system, with the call that failed and errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// Result of a non-blocking I/O call: a count, "would block", or an error.
public enum IOResult: Equatable, Sendable {
    case done(Int)
    case wouldBlock
    case error(Int32)
}

/// The one door to I/O syscalls, for the data path and the control plane alike: retries EINTR, turns EAGAIN into
/// `.wouldBlock`, traps on EBADF/EFAULT (those are bugs in Skiff, never a peer's doing).
///
/// Inlinable: connections call it for every read and write, from another module.
@inlinable @inline(__always)
public func ioCall(_ body: () -> Int) -> IOResult {
    while true {
        let n = body()
        if n >= 0 { return .done(n) }
        let e = Glibc.errno
        switch e {
        case EINTR: continue
        case EAGAIN: return .wouldBlock
        case EBADF, EFAULT: preconditionFailure("I/O on an invalid fd or buffer (errno \(e)): a Skiff bug")
        default: return .error(e)
        }
    }
}

/// A syscall that must succeed or throw, retrying EINTR.
@inlinable @discardableResult
public func sysCall(_ name: String, _ body: () -> Int32) throws(SystemError) -> Int32 {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = Glibc.errno
        if e == EINTR { continue }
        throw SystemError(name, errno: e)
    }
}

/// Ignore SIGPIPE process-wide: a closed peer must surface as EPIPE on write, not kill the proxy.
public func ignoreSIGPIPE() {
    signal(SIGPIPE, SIG_IGN)
}
