import CSkiffLinux
import Glibc

/// The one door to the few syscalls the control plane makes: EINTR is retried here, EAGAIN becomes `.wouldBlock`,
/// and EBADF/EFAULT trap because they are bugs in Skiff, never a peer's doing.
enum Sys {
    enum IO: Equatable {
        case done(Int)
        case wouldBlock
        case error(Int32)
    }

    @inline(__always)
    static func io(_ body: () -> Int) -> IO {
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

    /// The accept loop both control-plane servers run on their own thread: waits (200 ms at a time, so `isStopping`
    /// is seen promptly), hands each accepted fd to `admit`, backs off 20 ms when out of descriptors or memory
    /// rather than spinning on a ready socket, and closes `listenFD` when it returns.
    static func acceptLoop(_ listenFD: Int32, isStopping: () -> Bool, admit: (Int32) -> Void) {
        defer { close(listenFD) }
        while !isStopping() {
            let revents = poll(listenFD, events: Int16(POLLIN), timeoutMs: 200)
            if isStopping() { return }
            if revents == 0 { continue }
            let fd = cskiff_accept4(listenFD, nil, nil)
            if fd < 0 {
                switch errno {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM: sleep(ns: 20_000_000)
                default: break
                }
                continue
            }
            admit(fd)
        }
    }

    /// Reads into `buffer` (appending up to `max` bytes). `.done(0)` is end of stream.
    static func read(_ fd: Int32, into buffer: inout [UInt8], max: Int) -> IO {
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: max))
        let result = buffer.withUnsafeMutableBytes { raw in
            io { Glibc.recv(fd, raw.baseAddress! + old, max, 0) }
        }
        if case .done(let n) = result {
            buffer.removeLast(max - n)
        } else {
            buffer.removeLast(max)
        }
        return result
    }

    /// Sends without raising SIGPIPE; with `blocking: false` never waits (MSG_DONTWAIT), whatever the fd's mode.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, blocking: Bool) -> IO {
        guard bytes.count > 0 else { return .done(0) }
        let flags = Int32(MSG_NOSIGNAL) | (blocking ? 0 : Int32(MSG_DONTWAIT))
        return io { Glibc.send(fd, bytes.baseAddress!, bytes.count, flags) }
    }

    /// Sends all of `bytes`, blocking (bounded by the fd's SO_SNDTIMEO); false when the peer is gone or timed out.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                switch send(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]), blocking: true) {
                case .done(let n): offset += n
                case .wouldBlock, .error: return false
                }
            }
            return true
        }
    }

    /// Waits for `events` on one fd; returns the revents (0 on timeout).
    static func poll(_ fd: Int32, events: Int16, timeoutMs: Int32) -> Int16 {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let n = Glibc.poll(&p, 1, timeoutMs)
            if n >= 0 { return n == 0 ? 0 : p.revents }
            if Glibc.errno != EINTR { return Int16(POLLERR) }
        }
    }

    static func close(_ fd: Int32) {
        // Linux releases the fd even when close reports EINTR, so never retry.
        _ = Glibc.close(fd)
    }

    static func setNonBlocking(_ fd: Int32, _ on: Bool) {
        let flags = Glibc.fcntl(fd, F_GETFL)
        _ = Glibc.fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    /// SO_RCVTIMEO / SO_SNDTIMEO: blocking reads and writes give EAGAIN after this long.
    static func setTimeouts(_ fd: Int32, receiveNs: UInt64, sendNs: UInt64) {
        for (option, ns) in [(SO_RCVTIMEO, receiveNs), (SO_SNDTIMEO, sendNs)] {
            var tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000) / 1000)
            _ = setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    static func monotonicNs() -> UInt64 { cskiff_monotonic_ns(0) }

    static func sleep(ns: UInt64) {
        var request = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && Glibc.errno == EINTR { request = remaining }
    }

    static func errorText(_ e: Int32) -> String { String(cString: strerror(e)) }
}
