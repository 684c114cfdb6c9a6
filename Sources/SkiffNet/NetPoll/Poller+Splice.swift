import Glibc

/// The poller's side of splice mode (SpliceRoute). A connection a route touches is marked (`splice.active`), and its
/// events come here instead of `readReady`/`flush` (one test per event for every other connection): the source's
/// readability pumps its route, the destination's writability flushes it and pumps the route feeding it. Poller
/// thread only; both connections of a route live on this poller.
extension Poller {
    /// An epoll event of a connection in splice mode.
    func spliceEvent(_ c: Connection, flags: UInt32) {
        if flags & (Epoll.pollIn | Epoll.pollRdHup | Epoll.pollHup | Epoll.pollErr) != 0 { spliceRead(c) }
        if flags & Epoll.pollOut != 0 {
            flush(c)
            if let r = c.splice.writes, r.pipeBytes > 0 || r.sourceEOF { pumpSplice(r) }
        }
    }

    /// Reads a marked connection: through its route, or as buffers when its own direction still copies.
    func spliceRead(_ c: Connection) {
        if let r = c.splice.reads { pumpSplice(r) } else { readReady(c) }
    }

    /// Moves a route's bytes until the source is empty (EAGAIN: its next edge calls again), the destination is full
    /// (its EPOLLOUT calls again), the source is paused, or the fairness budget is spent (the source is read again
    /// next turn). The pipe is emptied into the destination before the source is read again, and only after the
    /// destination's queue (what the copying path wrote before the switch) is out. The source's EOF reaches the
    /// handler once the pipe is empty, so a FIN never overtakes bytes; errors close as on the copying path.
    func pumpSplice(_ r: SpliceRoute) {
        let src = r.source
        let dst = r.destination
        var budget = 16
        while r.isOpen {
            if r.pipeBytes > 0 {
                guard dst.state == .open, destinationQueueEmpty(dst) else { return }
                switch r.drain(nonblocking: true) {
                case .done(let n):
                    guard n > 0 else { return }
                    dst.noteSplicedWrite(n, wanted: r.pipeBytes)
                    r.pipeBytes -= n
                    continue
                case .wouldBlock:
                    dst.stats.eagain.wrappingAdd(1, ordering: .relaxed)
                    return
                case .error(let e):
                    closeNow(dst, reason: .writeError(e))
                    return
                }
            }
            if r.sourceEOF {
                if src.state == .open && !src.readEOF.load(ordering: .relaxed) {
                    src.readEOF.store(true, ordering: .relaxed)
                    src.deliver(.eof)
                    src.closeIfBothHalvesDone()
                }
                return
            }
            if src.readPaused.load(ordering: .relaxed) || src.readEOF.load(ordering: .relaxed) || src.state != .open {
                return
            }
            if budget == 0 {
                scheduleRead(src)
                return
            }
            budget -= 1
            switch r.fill(nonblocking: true) {
            case .done(0):
                r.sourceEOF = true
            case .done(let n):
                src.noteRead(n)
                r.pipeBytes += n
            case .wouldBlock:
                return
            case .error(let e):
                closeNow(src, reason: .readError(e))
                return
            }
        }
    }

    /// The destination has nothing queued, after a flush if it had (the buffers the copying path queued before the
    /// switch). False when the socket took only part: its EPOLLOUT edge comes back here through `spliceEvent`.
    private func destinationQueueEmpty(_ dst: Connection) -> Bool {
        if dst.lock.withLock({ dst.queue.isEmpty }) { return true }
        flush(dst)
        return dst.state == .open && dst.lock.withLock { dst.queue.isEmpty }
    }

    /// A read filled its buffer on a connection marked by `spliceWhenBulk`: the direction switches and is pumped at
    /// once (the loop reading buffers stops: `.done`), or keeps copying when no route could be made.
    func startSplice(_ c: Connection) -> ReadStep {
        guard let r = c.startSplice() else { return .more }
        pumpSplice(r)
        return .done
    }

    /// A closing connection's routes close their pipes (bytes in them are dropped with the connection), and its
    /// candidate peer is let go.
    @inline(__always) func releaseSplice(_ c: Connection) {
        c.splice.candidate = nil
        c.splice.reads?.release()
        c.splice.writes?.release()
    }
}
