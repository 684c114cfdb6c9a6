import Glibc

/// Socket calls for threads that may block: the control socket, the admin API, test servers. Each goes through
/// `ioCall`, so EINTR is retried and EAGAIN is `.wouldBlock` here too. Stateless and thread-safe.
public enum SocketIO {
    /// Reads into `buffer` (appending up to `max` bytes). `.done(0)` is end of stream.
    public static func read(_ fd: Int32, into buffer: inout [UInt8], max: Int) -> IOResult {
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: max))
        let result = buffer.withUnsafeMutableBytes { raw in
            ioCall { Glibc.recv(fd, raw.baseAddress! + old, max, 0) }
        }
        if case .done(let n) = result {
            buffer.removeLast(max - n)
        } else {
            buffer.removeLast(max)
        }
        return result
    }

    /// Sends without raising SIGPIPE; with `blocking: false` never waits (MSG_DONTWAIT), whatever the fd's mode.
    public static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, blocking: Bool) -> IOResult {
        guard bytes.count > 0 else { return .done(0) }
        let flags = Int32(MSG_NOSIGNAL) | (blocking ? 0 : Int32(MSG_DONTWAIT))
        return ioCall { Glibc.send(fd, bytes.baseAddress!, bytes.count, flags) }
    }

    /// Sends all of `bytes`, blocking (bounded by the fd's SO_SNDTIMEO); false when the peer is gone or timed out.
    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
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
    public static func poll(_ fd: Int32, events: Int16, timeoutMs: Int32) -> Int16 {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let n = Glibc.poll(&p, 1, timeoutMs)
            if n >= 0 { return n == 0 ? 0 : p.revents }
            if Glibc.errno != EINTR { return Int16(POLLERR) }
        }
    }

    public static func close(_ fd: Int32) {
        // Linux releases the fd even when close reports EINTR, so never retry.
        _ = Glibc.close(fd)
    }

    /// Clears or sets O_NONBLOCK.
    public static func setBlocking(_ fd: Int32, _ blocking: Bool) {
        let flags = Glibc.fcntl(fd, F_GETFL)
        _ = Glibc.fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
    }

    /// SO_RCVTIMEO / SO_SNDTIMEO: blocking reads and writes give EAGAIN after this long.
    public static func setTimeouts(_ fd: Int32, receiveNs: UInt64, sendNs: UInt64) {
        for (option, ns) in [(SO_RCVTIMEO, receiveNs), (SO_SNDTIMEO, sendNs)] {
            var tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000) / 1000)
            _ = setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }
}
