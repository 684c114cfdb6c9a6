import CSkiffLinux
import Glibc

/// Who flushes an rwloop connection's write queue right now. Guarded by the connection's `lock`.
///
/// - `none`: nobody; the queue is empty (or the connection is still connecting). The next write claims `direct`.
/// - `direct`: a thread that wrote (any thread: a reader, a worker, the strand's runner) is writing the queue to the
///   socket itself, without blocking (`MSG_DONTWAIT`). Others append behind it; it writes what they appended too.
/// - `writer`: back-pressure: the socket was full, so the connection's writer thread (started on the first such
///   moment) owns the queue until it has drained it, with blocking writes; then it hands the token back (`none`).
///   TLS connections keep this for good: their writer thread writes every record (see `RWWriteState.writerOnly`).
enum RWFlusher: UInt8 { case none, direct, writer }

/// The rwloop write side's extra state (one field of `Connection`, guarded by its `lock`).
struct RWWriteState {
    var flusher = RWFlusher.none
    /// The writer thread was started (at most once; it lives until the connection closes).
    var writerStarted = false
    /// TLS connections: every write goes through the writer thread, as before direct writes existed: one OpenSSL
    /// session is shared with the reader, a record cut by EAGAIN must be retried with the same bytes, and the
    /// handshake must be over first (`tlsPhasesOver`).
    var writerOnly = false
}

/// Direct writes for rwloop (MOSN's 2022 change: no write goroutine on the fast path). A write finds the queue empty
/// and nobody flushing: the writing thread takes the flusher token and writes the bytes itself, non-blocking, in
/// the same writev batches and with the same counters as `flushQueue`. What the socket does not take (EAGAIN or a
/// partial write) stays queued and the writer thread finishes it with blocking writes (back-pressure).
///
/// Order: the token is taken only when the queue is empty, so bytes leave in queue order; later writes append behind
/// the token holder, who writes them too (or hands them to the writer). The fd stays this connection's while a
/// direct write is in flight: the connection's threads do not leave (`rwThreadExit`, the last one closes the fd)
/// until the token is put down.
extension Connection {
    /// Called under `lock` once something was queued (or a FIN asked for). True when the caller is to flush now,
    /// after unlocking (`rwDirectFlush`); otherwise whoever holds the token will, or the writer was woken.
    @inline(__always)
    func rwNoteQueued(wasEmpty: Bool) -> Bool {
        switch rwWrite.flusher {
        case .direct:
            return false
        case .writer:
            if wasEmpty { lock.broadcast() }
            return false
        case .none:
            // Connecting: the reader thread flushes once connected (`rwFlushAfterConnect`).
            guard state == .open else { return false }
            rwWrite.flusher = .direct
            return true
        }
    }

    /// The caller took the token (`rwNoteQueued` said so): writes now, or, on a thread running a strand or a worker
    /// shard, once its current batch of handler work is done (`RWDeferredFlushes`: one writev for a response's pieces).
    func rwFlushClaimed() {
        if let batch = RWDeferredFlushes.current {
            batch.add(self)
        } else {
            rwDirectFlush()
        }
    }

    /// Once connected (outbound, plaintext), on the reader thread: writes what was queued while connecting.
    func rwFlushAfterConnect() {
        lock.lock()
        let claim = rwWrite.flusher == .none && state == .open && (!queue.isEmpty || shutdownRequested)
        if claim { rwWrite.flusher = .direct }
        lock.unlock()
        if claim { rwDirectFlush() }
    }

    /// Writes the queue from the calling thread, which holds the `direct` token, until it is empty (token put down),
    /// the socket is full (token handed to the writer thread), or an error closes the connection.
    func rwDirectFlush() {
        var rounds = 0
        while true {
            lock.lock()
            if state != .open {
                rwPutDownToken()
                lock.unlock()
                return
            }
            let (n, total) = queue.gather(into: iov, max: maxCoalesce)
            if n == 0 {
                let doShutdown = shutdownRequested && !writeShutdown
                if doShutdown { writeShutdown = true }
                rwPutDownToken()
                lock.unlock()
                if doShutdown {
                    Glibc.shutdown(fd, Int32(SHUT_WR))
                    closeIfBothHalvesDone()
                }
                return
            }
            lock.unlock()
            switch ioCall({ cskiff_sendv_nonblocking(fd, iov, Int32(n)) }) {
            case .done(let written):
                stats.recordWritev(buffers: n)
                stats.bytesWritten.wrappingAdd(UInt64(written), ordering: .relaxed)
                let partial = written < total
                if partial { stats.partialWrites.wrappingAdd(1, ordering: .relaxed) }
                rounds += 1
                lock.lock()
                let nowWritable = consumeWritten(written)
                // The socket is full, or others keep appending: the writer thread takes over, and this thread (a
                // reader, a strand's runner, a worker) gets back to its own work.
                let handOver = (partial || rounds >= 4) && (!queue.isEmpty || (shutdownRequested && !writeShutdown))
                let start = handOver ? rwHandToWriter() : false
                lock.unlock()
                lastActivity.store(MonotonicClock.coarse(), ordering: .relaxed)
                if nowWritable { deliver(.writability(true)) }
                if handOver {
                    if start { rwStartWriter() }
                    return
                }
            case .wouldBlock:
                stats.eagain.wrappingAdd(1, ordering: .relaxed)
                lock.lock()
                let start = rwHandToWriter()
                lock.unlock()
                if start { rwStartWriter() }
                return
            case .error(let e):
                lock.withLock { rwPutDownToken() }
                rwClose(.writeError(e))
                return
            }
        }
    }

    /// Gives the token back (caller holds `lock`); threads waiting to leave a closed connection are woken.
    private func rwPutDownToken() {
        rwWrite.flusher = .none
        if state == .closed { lock.broadcast() }
    }

    /// Hands the queue to the writer thread (caller holds `lock`). True when the caller must start it, after
    /// unlocking (its first back-pressure); otherwise it was woken.
    private func rwHandToWriter() -> Bool {
        rwWrite.flusher = .writer
        if state == .closed {
            lock.broadcast()
            return false
        }
        if rwWrite.writerStarted {
            lock.broadcast()
            return false
        }
        rwWrite.writerStarted = true
        rwThreadsAlive += 1
        return true
    }

    /// The writer thread's turn (caller holds `lock`): it owns the queue and has bytes or a FIN to send.
    var rwWriterHasWork: Bool {
        rwWrite.flusher == .writer && tlsPhasesOver && (!queue.isEmpty || (shutdownRequested && !writeShutdown))
    }

    /// The writer thread found nothing to do (caller holds `lock`): it gives the token back so writes go direct
    /// again (never for TLS connections, whose writer writes everything).
    func rwWriterIdle() {
        if rwWrite.flusher == .writer && !rwWrite.writerOnly && !rwWriterHasWork && tlsPhasesOver {
            rwWrite.flusher = .none
        }
    }

    /// A leaving reader or writer thread waits here (caller holds `lock`) while a direct write is in flight, so the
    /// last one out never closes the fd under it.
    func rwWaitForDirectWrite() {
        while rwWrite.flusher == .direct { lock.wait() }
    }
}
