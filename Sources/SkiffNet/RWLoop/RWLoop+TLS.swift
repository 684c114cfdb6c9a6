import Glibc

/// rwloop's TLS: the reader thread runs the phases before data (sniffing, handshake) with poll() between steps and
/// the handshake deadline, then reads through OpenSSL; the writer waits until the phases are over
/// (`tlsPhasesOver`). The socket stays non-blocking so neither thread ever waits inside OpenSSL.
extension Connection {
    /// Runs the phases to the end on the reader thread. False when the connection closed (already reported).
    func rwTLSPhases() -> Bool {
        guard let t = tls else { return true }
        let deadline = MonotonicClock.now() &+ t.handshakeTimeoutNs
        while true {
            if lock.withLock({ state == .closed }) { return false }
            switch advanceTLS(t) {
            case .established, .plaintext:
                if tls == nil { SocketIO.setBlocking(fd, true) }  // plaintext: from here on a plain rwloop connection
                guard handOverToListener() else {
                    rwClose(.local)
                    return false
                }
                lock.withLock { lock.broadcast() }  // the writer waits for this
                return true
            case .failed(let reason):
                rwClose(reason)
                return false
            case .waiting(let wantWrite):
                let now = MonotonicClock.now()
                if now >= deadline {
                    rwClose(tlsTimedOut(t))
                    return false
                }
                rwPoll(wantWrite ? POLLOUT : POLLIN, ms: Int32(min((deadline - now) / 1_000_000 + 1, 60_000)))
            }
        }
    }

    /// Reads through OpenSSL into `b`, waiting in poll() while it needs the socket; enforces the idle timeout.
    func rwTLSReceive(into b: ByteBuffer, _ t: TLSSession) -> (Int, CloseReason?) {
        while true {
            let end = t.fill(b)
            let n = b.readableBytes
            switch end {
            case .bytes: return (n, nil)
            case .eof: return (n, nil)
            case .failed(let why): return n > 0 ? (n, nil) : (0, .tlsError(why))
            case .wantRead, .wantWrite:
                if n > 0 { return (n, nil) }
                if lock.withLock({ state == .closed }) { return (0, .local) }
                var wait: Int32 = -1
                if idleTimeoutNs > 0 {
                    let due = lastActivity.load(ordering: .relaxed) &+ idleTimeoutNs
                    let now = MonotonicClock.coarse()
                    if now >= due { return (0, .idleTimeout) }
                    wait = Int32(min((due - now) / 1_000_000 + 1, 60_000))
                }
                let isWrite: Bool
                if case .wantWrite = end { isWrite = true } else { isWrite = false }
                rwPoll(isWrite ? POLLOUT : POLLIN, ms: wait)
            }
        }
    }

    private func rwPoll(_ events: Int32, ms: Int32) {
        var pfd = pollfd(fd: fd, events: Int16(events), revents: 0)
        _ = poll(&pfd, 1, ms)
    }
}
