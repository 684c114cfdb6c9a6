import Glibc

/// rwloop's side of splice mode (SpliceRoute): the source's reader thread splices from its blocking socket into the
/// pipe, then from the pipe to (a dup of) the destination's socket, blocking until the destination took it all, so
/// at most one pipe's worth is ever in flight and a slow destination holds the reader (and TCP holds the sender).
/// The destination's writer thread then has nothing to write but what was queued before the switch, and its FIN.
/// Source's reader thread only.
extension Connection {
    /// One step of the read loop in splice mode; false when the connection is closed and the loop must end.
    func rwSpliceStep(_ r: SpliceRoute) -> Bool {
        switch r.fill(nonblocking: false) {
        case .done(0):
            if lock.withLock({ state == .closed }) { return false }
            readEOF.store(true, ordering: .relaxed)
            deliver(.eof)
            closeIfBothHalvesDone()
            return true
        case .done(let n):
            if lock.withLock({ state == .closed }) { return false }
            noteRead(n)
            r.pipeBytes += n
            rwThreads?.reader(.writing)  // the Threads view: this reader now writes the destination's socket
            if let failure = rwDrain(r) {
                // The destination is gone and the pipe cannot be emptied: the pair ends as on the copying path,
                // where the destination's write error closes it and the proxy then closes this side.
                r.destination.rwClose(failure)
                rwClose(.peerClosed)
                return false
            }
            return true
        case .wouldBlock:  // only if a signal interrupted a blocking splice
            return true
        case .error(let e):
            if lock.withLock({ state == .closed }) { return false }
            rwClose(.readError(e))
            return false
        }
    }

    /// The reader is leaving: the route's pipe and the destination's dup close, the candidate peer is let go.
    func rwReleaseSplice() {
        lock.withLock { splice.candidate = nil }
        splice.reads?.release()
    }

    /// Empties the pipe into the destination, after the destination's writer has written what was queued before the
    /// switch (checked once: nothing is queued on it afterwards). A reason when the destination failed.
    private func rwDrain(_ r: SpliceRoute) -> CloseReason? {
        let dst = r.destination
        if !r.destinationQueueDrained {
            var pauseUs: UInt32 = 50
            while dst.lock.withLock({ !dst.queue.isEmpty && dst.state != .closed }) {
                usleep(pauseUs)
                pauseUs = min(pauseUs * 2, 5000)
            }
            r.destinationQueueDrained = true
        }
        while r.pipeBytes > 0 {
            switch r.drain(nonblocking: false) {
            case .done(let n):
                guard n > 0 else { return .writeError(EPIPE) }
                dst.noteSplicedWrite(n, wanted: r.pipeBytes)
                r.pipeBytes -= n
            case .wouldBlock:  // a signal interrupted it: wait for room
                var pfd = pollfd(fd: r.destinationFD, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, 1000)
            case .error(let e):
                return .writeError(e)
            }
        }
        return nil
    }
}
