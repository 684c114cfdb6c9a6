import CSkiffLinux
import Glibc
import Synchronization

/// The rwloop thread model: a blocking reader thread per connection, a writer thread started only if the socket
/// ever pushes back (writes go out directly from the writing thread until then, Connection+DirectWrite.swift), and
/// an accept thread per listener. Simple and fast for a few busy connections; each costs one or two small-stack
/// threads.
public final class RWLoopGroup: Sendable {
    public let name: String
    /// Buffers shared by this group's threads.
    public let pool: BufferPool
    /// Stack per reader/writer thread.
    public let stackSize: Int
    public let readers = Atomic<Int>(0)
    public let writers = Atomic<Int>(0)
    /// Thread creations refused by the system (each closes its connection).
    public let spawnFailures = Atomic<UInt64>(0)
    /// Live connections, for telemetry.
    public let registry = ConnectionRegistry()

    public init(name: String = "rwloop", bufferSize: Int = 64 * 1024, stackSize: Int = NetThread.smallStack) {
        self.name = name
        self.pool = BufferPool(bufferSize: bufferSize, maxFree: 1024, threadCaching: true)
        self.stackSize = stackSize
    }

    /// Binds and starts an accept thread.
    public func listen(_ options: ListenerOptions, delegate: any ListenerDelegate) throws(SystemError) -> Listener {
        let l = try Listener(options: options, model: .rwloop, pollerCount: 0, delegate: delegate)
        do {
            try NetThread.start(name: "\(name)-accept") { [self] in self.acceptLoop(l) }
        } catch {
            // An inherited socket stays the caller's to close (closing it here too would close it twice).
            if options.inheritedFD == nil { Glibc.close(l.fd) }
            throw error
        }
        return l
    }

    /// Stops accepting: within 50 ms the accept thread sees the flag, exits and closes its descriptor. The socket
    /// itself is not shut down: another listener (a reload, an upgraded process) may be serving a dup of it.
    public func stopListening(_ l: Listener) {
        _ = l.stopping.exchange(true, ordering: .relaxed)
    }

    private func acceptLoop(_ l: Listener) {
        AcceptLoop.run(
            l.fd, pollMs: 50, backoffMs: 100, isStopping: { l.stopping.load(ordering: .relaxed) },
            admit: { fd in admit(fd, on: l) },
            failed: { _ in l.stats.acceptErrors.wrappingAdd(1, ordering: .relaxed) })
        l.closeDescriptor()
    }

    /// Gives an accepted connection its reader and writer threads (or refuses it over the listener's limit).
    private func admit(_ fd: Int32, on l: Listener) {
        guard l.reserveSlot() else {
            l.refuse(fd)
            return
        }
        // TLS sockets stay non-blocking: reader and writer share one OpenSSL session and wait in poll(), never
        // inside OpenSSL while holding its lock.
        if l.tls == nil { SocketIO.setBlocking(fd, true) }
        Socket.setNoDelay(fd)
        var options = l.connectionOptions
        if options.runsOnStrand && options.workers == nil { options.strand = RWLoopStrandPool.shared.lease() }
        let c = Connection(
            fd: fd, direction: .inbound, state: .open, peer: Socket.peerAddress(fd), context: .rwloop(self),
            options: options, label: l.name)
        c.listenerStats = l.stats
        l.stats.accepted.wrappingAdd(1, ordering: .relaxed)
        if let ep = l.tls { c.tls = TLSSession.server(ep, fd: fd, serialize: true) }
        c.noteOpened()
        if c.tls != nil {
            c.acceptedBy = l  // its filter hears of it after the handshake (`rwTLSPhases`)
            c.rwStart(connecting: false, timeoutNs: 0)
            return
        }
        c.handler = l.delegate.listener(l, accepted: c)
        if c.handler == nil {
            c.rwStartClosed(.local)
        } else {
            c.rwStart(connecting: false, timeoutNs: 0)
        }
    }

    /// Closes every live connection, gracefully (TLS ones send close_notify): the end of a stop. Any thread.
    public func closeAll() {
        for c in registry.connections { c.close(.local) }
    }

    /// Opens an outbound connection whose reader thread does the connect (with `timeout`), then reads.
    public func connect(
        to address: SocketAddress, timeout: Duration, options: ConnectionOptions, label: String,
        shardKey: UInt64? = nil, handler: any ConnectionHandler
    ) -> Connection {
        do {
            let (fd, _) = try Socket.startConnect(to: address, from: options.sourceAddress)
            let c = Connection(
                fd: fd, direction: .outbound, state: .connecting, peer: address, context: .rwloop(self),
                options: options, label: label, shardKey: shardKey)
            c.handler = handler
            if let ep = options.tls { c.tls = TLSSession.client(ep, fd: fd, peer: address.description, serialize: true) }
            c.noteOpened()
            c.rwStart(connecting: true, timeoutNs: Connection.nanoseconds(timeout))
            return c
        } catch {
            let c = Connection(
                fd: -1, direction: .outbound, state: .connecting, peer: address, context: .rwloop(self),
                options: options, label: label, shardKey: shardKey)
            c.handler = handler
            c.noteOpened()
            c.rwStartClosed(.connectFailed(error.errno))
            return c
        }
    }
}

extension Connection {
    var rwGroup: RWLoopGroup {
        guard case .rwloop(let g) = context else { preconditionFailure("not an rwloop connection") }
        return g
    }

    /// A connection that failed before any thread started: report the close from a short-lived thread so the caller
    /// has its reference before the handler hears about it.
    func rwStartClosed(_ reason: CloseReason) {
        lock.withLock {
            state = .closed
            closeReason = reason
            rwThreadsAlive = 1
        }
        do {
            try NetThread.start(name: "\(rwGroup.name)-close", stackSize: rwGroup.stackSize) { [self] in
                self.rwThreadExit()
            }
        } catch {
            rwThreadExit()
        }
    }

    /// Starts the reader thread (which connects first when `connecting`). The writer thread starts at the first
    /// back-pressure (`rwDirectFlush`), except for TLS, whose writer writes every record and starts once open.
    func rwStart(connecting: Bool, timeoutNs: UInt64) {
        let eagerWriter = tls != nil
        lock.withLock {
            rwWrite.writerOnly = eagerWriter
            if eagerWriter { rwWrite.flusher = .writer }
            rwWrite.writerStarted = eagerWriter && !connecting
            rwThreadsAlive = rwWrite.writerStarted ? 2 : 1
        }
        let g = rwGroup
        do {
            try NetThread.start(name: "\(g.name)-r", stackSize: g.stackSize) { [self] in
                if connecting && !self.rwConnect(timeoutNs: timeoutNs) {
                    self.rwThreadExit()
                    return
                }
                if !connecting && self.tls != nil && !self.rwTLSPhases() {
                    self.rwThreadExit()
                    return
                }
                self.rwReadLoop()
            }
        } catch {
            g.spawnFailures.wrappingAdd(1, ordering: .relaxed)
            lock.withLock {
                state = .closed
                closeReason = .local
                rwThreadsAlive = 1
            }
            rwThreadExit()
            return
        }
        if eagerWriter && !connecting { rwStartWriter() }
    }

    /// Starts the writer thread, its slot in `rwThreadsAlive` already counted.
    func rwStartWriter() {
        let g = rwGroup
        do {
            try NetThread.start(name: "\(g.name)-w", stackSize: g.stackSize) { [self] in self.rwWriteLoop() }
        } catch {
            g.spawnFailures.wrappingAdd(1, ordering: .relaxed)
            rwClose(.local)
            rwThreadExit()  // leaves in the writer's place (the last one out closes the fd)
        }
    }

    /// Waits for the non-blocking connect to finish, then switches the socket to blocking I/O.
    private func rwConnect(timeoutNs: UInt64) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ms = Int32(min(timeoutNs / 1_000_000, UInt64(Int32.max)))
        var rc: Int32
        repeat { rc = poll(&pfd, 1, ms) } while rc < 0 && errno == EINTR
        var err: Int32 = rc == 0 ? ETIMEDOUT : Socket.pendingError(fd)
        if err == 0 && !didEstablish() { err = ECONNREFUSED }
        let ok = lock.withLock { () -> Bool in
            if state == .closed { return false }
            if err != 0 {
                state = .closed
                closeReason = rc == 0 ? .connectTimeout : .connectFailed(err)
                return false
            }
            state = .open
            if rwWrite.writerOnly {
                rwWrite.writerStarted = true
                rwThreadsAlive += 1
            }
            return true
        }
        guard ok else { return false }
        if tls == nil { SocketIO.setBlocking(fd, true) }
        lastActivity.store(MonotonicClock.coarse(), ordering: .relaxed)
        if rwWrite.writerOnly {
            rwStartWriter()
        } else {
            rwFlushAfterConnect()
        }
        if tls != nil && !rwTLSPhases() { return false }
        deliver(.connected)
        return true
    }

    /// Blocking reads; waits while paused or after EOF; enforces the idle timeout with the socket's receive timeout
    /// (TLS: with poll(), in `rwTLSReceive`).
    private func rwReadLoop() {
        let g = rwGroup
        g.readers.wrappingAdd(1, ordering: .relaxed)
        let states = rwThreads!
        states.readerTid.store(currentThreadID(), ordering: .relaxed)
        g.pool.installThreadCache()
        defer {
            BufferPool.removeThreadCache()
            g.readers.wrappingSubtract(1, ordering: .relaxed)
            states.reader(.gone)
        }
        var receiveTimeoutNs: UInt64 = 0  // SO_RCVTIMEO as last set (0: none)
        while true {
            states.reader(.idle)
            // Not paused and no EOF (the common case): straight to the read, without the lock the connection's
            // writers take. A close meanwhile has shut the socket down, so the read returns at once and the check
            // after it sees the state.
            if readPaused.load(ordering: .relaxed) || readEOF.load(ordering: .relaxed) {
                lock.lock()
                while (readPaused.load(ordering: .relaxed) || readEOF.load(ordering: .relaxed)) && state != .closed {
                    if idleTimeoutNs > 0 {
                        let due = lastActivity.load(ordering: .relaxed) &+ idleTimeoutNs
                        if MonotonicClock.coarse() >= due {
                            lock.unlock()
                            rwClose(.idleTimeout)
                            lock.lock()
                            continue
                        }
                        _ = lock.wait(untilMonotonicNs: MonotonicClock.now() &+ (due &- MonotonicClock.coarse()))
                    } else {
                        lock.wait()
                    }
                }
                let closed = state == .closed
                lock.unlock()
                if closed { break }
            }
            states.reader(.blockedInRead)
            // TLS waits inside `rwReceive`: OpenSSL may hold decrypted bytes the socket no longer shows.
            if tls == nil && idleTimeoutNs > 0 && !rwBoundReceive(&receiveTimeoutNs) { break }  // closed as idle
            if let r = splice.reads {  // splice mode (RWLoop+Splice.swift)
                if rwSpliceStep(r) { continue }
                break
            }
            let b = g.pool.acquire()
            let (n, failure) = rwReceive(into: b)
            states.reader(.handling)
            if lock.withLock({ state == .closed }) {
                b.release()
                break
            }
            if n < 0 {  // the receive timeout: check the idle deadline again
                b.release()
                continue
            }
            if n > 0 {
                noteRead(n)
                let full = b.writableBytes == 0
                deliver(.read(b))
                if full && splice.candidate != nil { _ = startSplice() }  // RWLoop+Splice.swift
            } else if let failure {
                b.release()
                rwClose(failure)
            } else {
                b.release()
                readEOF.store(true, ordering: .relaxed)
                deliver(.eof)
                closeIfBothHalvesDone()
            }
        }
        rwReleaseSplice()
        rwThreadExit()
    }

    /// One read into `b` (its writer index advanced): bytes > 0; 0 and nil at EOF; 0 and a reason on failure; -1
    /// when the receive timeout (`rwBoundReceive`) ran out first.
    private func rwReceive(into b: ByteBuffer) -> (Int, CloseReason?) {
        if let t = tls { return rwTLSReceive(into: b, t) }
        var n: Int
        repeat { n = Glibc.read(fd, b.writePointer, b.writableBytes) } while n < 0 && errno == EINTR
        if n > 0 {
            b.writerIndex += n
            return (n, nil)
        }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return (-1, nil) }
        return n == 0 ? (0, nil) : (0, .readError(errno))
    }

    /// Before a blocking read with an idle timeout: closes when the deadline has passed (false: the connection is
    /// closed, the reader leaves), else makes sure the read cannot block much past it (SO_RCVTIMEO). The timeout is
    /// set again only when the one in force would overshoot the deadline by more than an eighth: reads that follow
    /// reads (the deadline moved on with the bytes) cost no extra syscall — poll() before every read did.
    private func rwBoundReceive(_ receiveTimeoutNs: inout UInt64) -> Bool {
        let due = lastActivity.load(ordering: .relaxed) &+ idleTimeoutNs
        let now = MonotonicClock.coarse()
        if now >= due {
            rwClose(.idleTimeout)
            return false
        }
        let remaining = due - now
        if receiveTimeoutNs == 0 || receiveTimeoutNs > remaining + remaining / 8 + 1_000_000 {
            let ns = max(remaining, 1_000_000)
            var tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000 / 1000))
            if setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0 {
                receiveTimeoutNs = ns
            }
        }
        return true
    }

    /// Back-pressure: waits until it owns the queue (`RWFlusher.writer`), writes it with the shared coalescing flush
    /// (blocking), and hands the queue back to direct writes once drained. TLS: writes everything, as before.
    private func rwWriteLoop() {
        let g = rwGroup
        g.writers.wrappingAdd(1, ordering: .relaxed)
        let states = rwThreads!
        states.writerTid.store(currentThreadID(), ordering: .relaxed)
        g.pool.installThreadCache()
        defer {
            BufferPool.removeThreadCache()
            g.writers.wrappingSubtract(1, ordering: .relaxed)
            states.writer(.gone)
        }
        while true {
            states.writer(.idle)
            lock.lock()
            while !rwWriterHasWork && state != .closed {
                rwWriterIdle()
                lock.wait()
            }
            let closed = state == .closed
            lock.unlock()
            if closed { break }
            states.writer(.writing)
            switch flushQueue() {
            case .drained, .notReady:
                continue
            case .wouldBlock:  // only if a signal interrupted a blocking send; wait for room
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, 1000)
            case .failed(let e):
                rwClose(.writeError(e))
            }
        }
        rwThreadExit()
    }

    /// Marks the connection closed and wakes both threads; the last one out closes the fd.
    ///
    /// The shutdown that unblocks them happens under the lock: a thread leaves (and the last one closes the fd) only
    /// after taking the lock, so the fd is still this connection's here. Called after unlocking, from a thread that
    /// is not one of the connection's own (a worker shard closing it), it could hit a number the kernel had already
    /// given to a new socket, and cut someone else's connection.
    func rwClose(_ reason: CloseReason) {
        lock.lock()
        if state == .closed {
            lock.unlock()
            return
        }
        state = .closed
        closeReason = reason
        lock.broadcast()
        sendCloseNotifyIfGraceful(reason)
        if fd >= 0 { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        lock.unlock()
    }

    /// The last of the connection's threads releases everything and tells the handler.
    func rwThreadExit() {
        let (last, reason) = lock.withLock { () -> (Bool, CloseReason) in
            rwWaitForDirectWrite()
            rwThreadsAlive -= 1
            if rwThreadsAlive == 0 { queue.removeAll() }
            return (rwThreadsAlive == 0, closeReason)
        }
        guard last else { return }
        if fd >= 0 { Glibc.close(fd) }
        noteClosed(reason)
        deliver(.closed(reason))
        if direction == .inbound, let s = strand { RWLoopStrandPool.shared.release(s) }
    }
}
