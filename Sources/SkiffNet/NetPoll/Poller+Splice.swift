import Glibc

/// The poller's side of splice mode (SpliceRoute): a route is pumped when its source is readable (from `readReady`)
/// and when its destination's write queue has drained while the pipe still holds bytes (from `flush`). Poller thread
/// only; both connections of a route live on this poller.
extension Poller {
    /// Moves a route's bytes until the source is empty (EAGAIN: its next edge calls again), the destination is full
    /// (its EPOLLOUT flushes it, and the drained flush calls again), the source is paused, or the fairness budget is
    /// spent (the source is read again next turn). The pipe is emptied into the destination before the source is read
    /// again, after whatever the destination still had queued from the copying path. The source's EOF reaches the
    /// handler once the pipe is empty, so a FIN never overtakes bytes; errors close as on the copying path.
    func pumpSplice(_ r: SpliceRoute) {
        let src = r.source
        let dst = r.destination
        var budget = 16
        while r.isOpen {
            if r.pipeBytes > 0 {
                guard dst.state == .open, dst.lock.withLock({ dst.queue.isEmpty }) else { return }
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

    /// The destination's queue drained: bytes waiting in the pipe (or an EOF waiting behind them) may go on.
    @inline(__always) func spliceDestinationDrained(_ c: Connection) {
        if let r = c.splice.writes, r.pipeBytes > 0 || r.sourceEOF { pumpSplice(r) }
    }

    /// A closing connection's routes close their pipes (bytes in them are dropped with the connection).
    @inline(__always) func releaseSplice(_ c: Connection) {
        c.splice.reads?.release()
        c.splice.writes?.release()
    }
}
