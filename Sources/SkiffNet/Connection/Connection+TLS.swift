import Glibc

/// TLS as a transport under the connection: the phases before data (inspector sniffing, the handshake), writing
/// queued buffers as records, and what the handshake agreed on. Handlers see plaintext and nothing else changes for
/// them; an outbound connection reports `connectionDidConnect` only once its handshake is done.
///
/// Threads: netpoll runs all of it on the connection's poller; rwloop runs the phases on the reader thread and writes
/// on the writer thread, which waits until the phases are over (`tlsPhasesOver`).
extension Connection {
    /// Where the phases before data stand after one step.
    enum TLSProgress {
        case established
        /// An inspector listener saw plaintext: the connection goes on without TLS.
        case plaintext
        case waiting(wantWrite: Bool)
        case failed(CloseReason)
    }

    /// What the handshake agreed on; nil before it finished and for plaintext connections. Any thread.
    public var tlsInfo: TLSConnectionInfo? { lock.withLock { tlsInfoStorage } }

    /// True once data may flow: plaintext, or TLS established (caller holds `lock` under rwloop).
    var tlsPhasesOver: Bool { tls.map { $0.phase == .established } ?? true }

    /// One step: sniff the first byte (inspector listeners), then drive the handshake.
    func advanceTLS(_ t: TLSSession) -> TLSProgress {
        if t.phase == .sniffing {
            var byte: UInt8 = 0
            let n = Glibc.recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            if n < 0 {
                let e = errno
                return e == EAGAIN || e == EINTR ? .waiting(wantWrite: false) : .failed(.readError(e))
            }
            if n == 0 { return .failed(.eof) }  // gone before sending anything: not a TLS failure
            if byte != 0x16 {  // not a TLS handshake record
                t.stats.plaintext.wrappingAdd(1, ordering: .relaxed)
                lock.withLock { tls = nil }
                return .plaintext
            }
            t.phase = .handshaking
        }
        switch t.handshake() {
        case .done:
            let info = t.connectionInfo()
            lock.withLock {
                t.phase = .established
                tlsInfoStorage = info
            }
            t.stats.handshakes.wrappingAdd(1, ordering: .relaxed)
            if info.resumed { t.stats.resumed.wrappingAdd(1, ordering: .relaxed) }
            return .established
        case .wantRead: return .waiting(wantWrite: false)
        case .wantWrite: return .waiting(wantWrite: true)
        case .failed(let reason, let detail):
            return .failed(tlsFailed(t, reason, detail))
        }
    }

    /// An inbound TLS connection whose phases are over asks its listener's filter for a handler (deferred from the
    /// accept, so a refused handshake never reaches the filter). False when the filter refused the connection.
    func handOverToListener() -> Bool {
        guard let l = acceptedBy else { return true }
        acceptedBy = nil
        handler = l.delegate.listener(l, accepted: self)
        return handler != nil
    }

    /// Counts a failed handshake (and tells the owner's sink) and returns the close reason.
    func tlsFailed(_ t: TLSSession, _ reason: TLSFailureReason, _ detail: String) -> CloseReason {
        t.stats.noteFailure(TLSFailure(reason: reason, detail: detail, peer: peerAddress?.description ?? "?"))
        return .tlsHandshakeFailed(reason)
    }

    /// The handshake deadline passed.
    func tlsTimedOut(_ t: TLSSession) -> CloseReason {
        let what = t.phase == .sniffing ? "no byte within the handshake timeout" : "handshake not finished in time"
        return tlsFailed(t, .timeout, what)
    }

    /// Writes queued buffers as TLS records (see `TLSSession.write`), in the shape of a writev's result.
    func tlsWrite(_ t: TLSSession, buffers n: Int) -> IOResult {
        switch t.write(iov, count: n) {
        case .bytes(let w): return .done(w)
        case .wantWrite, .wantRead: return .wouldBlock
        case .eof: return .error(EPIPE)
        case .failed: return .error(EPROTO)
        }
    }

    /// How many of the `n` gathered buffers `written` bytes reached into (for the coalescing counters).
    func buffersCovered(by written: Int, of n: Int) -> Int {
        var left = written
        var i = 0
        while i < n && left > 0 {
            left -= iov[i].iov_len
            i += 1
        }
        return max(1, i)
    }

    /// Graceful closes (a stop, a drain, an idle timeout) tell the peer with close_notify; error closes do not.
    func sendCloseNotifyIfGraceful(_ reason: CloseReason) {
        guard let t = tls, t.phase == .established else { return }
        switch reason {
        case .local, .idleTimeout, .eof: t.sendCloseNotify()
        default: break
        }
    }
}
