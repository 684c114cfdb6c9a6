import Glibc

/// The poller's side of TLS (docs/architecture.md, "TLS"): the phases before data driven on edge-triggered events
/// with a handshake deadline, and reads through OpenSSL. Poller thread only.
extension Poller {
    func armHandshakeTimer(_ c: Connection, _ t: TLSSession) {
        c.tlsTimer = schedule(after: t.handshakeTimeoutNs) { [unowned self, unowned c] in
            c.tlsTimer = nil
            guard c.state == .open, let t = c.tls, t.phase != .established else { return }
            self.closeNow(c, reason: c.tlsTimedOut(t))
        }
    }

    /// Drives the phases before data one step; once over, data flows as for any connection.
    func advanceTLS(_ c: Connection, _ t: TLSSession) {
        switch c.advanceTLS(t) {
        case .waiting:
            return
        case .failed(let reason):
            closeNow(c, reason: reason)
            return
        case .established:
            if c.direction == .outbound { c.deliver(.connected) }
        case .plaintext:
            break
        }
        c.tlsTimer?.cancel()
        c.tlsTimer = nil
        if !c.handOverToListener() {
            closeNow(c, reason: .local)
            return
        }
        if c.state == .open { readReady(c) }  // bytes may have come with the handshake's last flight
        scheduleFlush(c)
    }

    /// Decrypts into `b` until it is full or OpenSSL needs the socket (a short buffer does not mean the socket is
    /// drained: OpenSSL reads one record at a time), and delivers what came.
    func readTLS(_ c: Connection, _ t: TLSSession, into b: ByteBuffer) -> ReadStep {
        let end = t.fill(b)
        t.readWantsWrite = false
        if b.readableBytes > 0 {
            c.noteRead(b.readableBytes)
            c.deliver(.read(b))
        } else {
            b.release()
        }
        switch end {
        case .bytes: return .more
        case .wantRead: return .done
        case .wantWrite:
            t.readWantsWrite = true
            return .done
        case .eof: return .eof
        case .failed(let why): return .failed(.tlsError(why))
        }
    }
}
