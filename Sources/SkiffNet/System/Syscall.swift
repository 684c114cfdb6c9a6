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
public enum IOResult: Equatable {
    case done(Int)
    case wouldBlock
    case error(Int32)
}

/// The one door to syscalls: retries EINTR, turns EAGAIN into `.wouldBlock`, traps on EBADF/EFAULT (those are
/// bugs in Skiff, never a peer's doing).
@inline(__always)
func ioCall(_ body: () -> Int) -> IOResult {
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
@discardableResult
func sysCall(_ name: String, _ body: () -> Int32) throws(SystemError) -> Int32 {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = Glibc.errno
        if e == EINTR { continue }
        throw SystemError(name, errno: e)
    }
}

/// Monotonic clock readings, nanoseconds.
public enum MonotonicClock {
    /// Precise; for latency measurement.
    @inline(__always) public static func now() -> UInt64 { cskiff_monotonic_ns(0) }
    /// Coarse (a few ms resolution, cheaper); for idle timeouts and activity stamps.
    @inline(__always) public static func coarse() -> UInt64 { cskiff_monotonic_ns(1) }
}

/// Epoll constants normalised once.
enum Epoll {
    static let pollIn = UInt32(bitPattern: cskiff_EPOLLIN)
    static let pollOut = UInt32(bitPattern: cskiff_EPOLLOUT)
    static let pollErr = UInt32(bitPattern: cskiff_EPOLLERR)
    static let pollHup = UInt32(bitPattern: cskiff_EPOLLHUP)
    static let pollRdHup = UInt32(bitPattern: cskiff_EPOLLRDHUP)
    static let edgeTriggered = UInt32(bitPattern: cskiff_EPOLLET)
    static let exclusive = UInt32(bitPattern: cskiff_EPOLLEXCLUSIVE)
    static let add = cskiff_EPOLL_CTL_ADD
    static let mod = cskiff_EPOLL_CTL_MOD
    static let del = cskiff_EPOLL_CTL_DEL
}

/// Ignore SIGPIPE process-wide: a closed peer must surface as EPIPE on write, not kill the proxy.
public func ignoreSIGPIPE() {
    signal(SIGPIPE, SIG_IGN)
}
