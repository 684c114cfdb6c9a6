import CSkiffLinux
import Glibc
import Synchronization

/// The network thread model a connection runs under (docs/architecture.md, "Two thread models").
public enum NetModel: String, Sendable, Equatable, CaseIterable {
    case rwloop
    case netpoll
}

/// Where a connection's I/O runs: a poller, or its own reader/writer threads.
enum NetContext {
    case netpoll(Poller)
    case rwloop(RWLoopGroup)
}

/// Settings a connection is created with.
public struct ConnectionOptions: Sendable {
    /// Buffers gathered into one writev.
    public var maxCoalesce: Int
    /// Bound on queued, unwritten bytes; above it the handler is told to stop feeding (writability false).
    public var writeLimit: Int
    /// Close after this long with no read or write; nil = never.
    public var idleTimeout: Duration?
    /// Run handler callbacks on this pool (sharded) instead of the I/O thread.
    public var workers: WorkerPool?
    /// Where this connection's counters are added when it closes (its listener's or cluster's totals).
    public var totals: WriteTotals?
    /// Outbound only, for tests: bind to this address before connecting (to make a connection land on itself).
    var sourceAddress: SocketAddress?
    /// Outbound only: speak TLS as this client (a cluster's context and counters); nil = plaintext.
    public var tls: TLSClientEndpoint?
    /// Told about open and close (telemetry registration, events).
    public var observer: (any ConnectionObserver)?
    /// rwloop without `workers`: run the handler on a strand (`RWLoopStrand`), inline on the connection's own threads
    /// and one event at a time, as L7 handlers need a serial executor. netpoll ignores it (its poller is one).
    public var runsOnStrand = false
    /// The strand: leased by the rwloop group at the accept, passed on to sibling (upstream) connections.
    var strand: RWLoopStrand?

    public init(
        maxCoalesce: Int = 16, writeLimit: Int = 1 << 20, idleTimeout: Duration? = nil, workers: WorkerPool? = nil,
        totals: WriteTotals? = nil, observer: (any ConnectionObserver)? = nil, tls: TLSClientEndpoint? = nil
    ) {
        self.tls = tls
        self.maxCoalesce = max(1, min(maxCoalesce, 1024))
        self.writeLimit = max(4096, writeLimit)
        self.idleTimeout = idleTimeout
        self.workers = workers
        self.totals = totals
        self.observer = observer
    }
}

/// One TCP connection, inbound or outbound, under either thread model.
///
/// Threads: I/O (read, writev, close of the fd) happens only on the connection's poller (netpoll) or on its own reader
/// and writer threads (rwloop), except rwloop's direct writes: a writev from the writing thread while it holds the
/// flusher token (Connection+DirectWrite.swift). `write`, `shutdownWrite`, `close`, `pauseReading` and `resumeReading`
/// may be called from any thread. The write-side state is guarded by `lock`; read-side flags are atomics. Hence
/// `@unchecked Sendable`.
public final class Connection: @unchecked Sendable {
    public enum Direction: String, Sendable { case inbound, outbound }
    public enum State: Sendable, Equatable { case connecting, open, closed }

    /// What is delivered to the handler, on the thread `callbackThread` names.
    enum Event {
        case read(ByteBuffer)
        case eof
        case connected
        case writability(Bool)
        case closed(CloseReason)
    }

    private static let nextID = Atomic<UInt64>(1)

    /// Unique for the life of the process.
    public let id: UInt64
    public let fd: Int32
    public let direction: Direction
    public let model: NetModel
    public let peerAddress: SocketAddress?
    public private(set) var localAddress: SocketAddress?
    /// Monotonic ns when created.
    public let openedAt: UInt64
    public let stats = ConnectionStats()
    /// Free-form owner label (listener or cluster name) for telemetry.
    public let label: String
    /// Worker shard key: outbound connections of a proxied pair take the downstream's, so both sides stay ordered.
    public let shardKey: UInt64

    /// Set before the connection starts; cleared after `connectionDidClose`.
    public var handler: (any ConnectionHandler)?

    let context: NetContext
    /// rwloop only: what its reader and writer threads are doing (nil on netpoll).
    public let rwThreads: RWThreadStates?
    let maxCoalesce: Int
    let writeLimit: Int
    let idleTimeoutNs: UInt64
    let workers: WorkerPool?
    /// rwloop, L7 without workers: the serial executor its handler runs on (RWLoopStrand.swift); nil otherwise.
    let strand: RWLoopStrand?
    let totals: WriteTotals?
    let observer: (any ConnectionObserver)?

    // Write side, guarded by `lock` (rwloop's reader and writer also wait on its condition).
    let lock = ConditionLock()
    var queue = WriteQueue()
    var writable = true
    var shutdownRequested = false
    var writeShutdown = false
    var state: State
    var closeReason: CloseReason = .local
    var rwThreadsAlive = 0
    /// rwloop: who flushes the queue (a direct writer or the writer thread), Connection+DirectWrite.swift.
    var rwWrite = RWWriteState()

    // Read side.
    let readPaused = Atomic<Bool>(false)
    let readEOF = Atomic<Bool>(false)
    let lastActivity: Atomic<UInt64>
    /// Where the connection's flusher and reader read the time for `lastActivity`: its poller's once-a-turn clock
    /// (netpoll, set on registration, read only on that poller); nil reads the coarse clock (rwloop).
    var activityClock: UnsafePointer<UInt64>?

    // Flusher-only scratch (the poller, or rwloop's flusher: a direct writer or the writer thread).
    let iov: UnsafeMutablePointer<iovec>

    // netpoll bookkeeping, touched only on the owning poller thread.
    var pollSlot: Int = -1
    var pollGeneration: UInt32 = 0
    var flushScheduled = false
    /// The last flush left bytes queued (the socket was full, or not ready): the next EPOLLOUT flushes. Otherwise
    /// EPOLLOUT, which edge-triggered epoll reports with nearly every read, has nothing to do.
    var awaitingWritable = false
    var readAgainScheduled = false
    var peerHalfClosed = false
    var idleTimer: PollerTimer?
    var connectTimer: PollerTimer?

    /// Set by `peerIPBytes` on the handler's executor.
    var cachedPeerIP: [UInt8]?

    /// The accepting listener's counters (inbound only); `active` falls when this closes.
    var listenerStats: ListenerStats?

    /// Splice mode's routes (Splice/): poller-confined (netpoll), reader-thread-confined (rwloop).
    var splice = SpliceLinks()

    // TLS (Connection+TLS.swift). `tls` is set when the connection is made and cleared (under `lock`) only when an
    // inspector listener finds plaintext; it is nil for plaintext connections.
    var tls: TLSSession?
    /// What the handshake agreed on; guarded by `lock`.
    var tlsInfoStorage: TLSConnectionInfo?
    /// netpoll: the handshake deadline (poller-confined).
    var tlsTimer: PollerTimer?
    /// Inbound TLS: the listener whose filter gets the connection once the handshake is done (then nil).
    var acceptedBy: Listener?

    init(
        fd: Int32, direction: Direction, state: State, peer: SocketAddress?, context: NetContext,
        options: ConnectionOptions, label: String, shardKey: UInt64? = nil
    ) {
        self.id = Connection.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.fd = fd
        self.direction = direction
        self.state = state
        self.peerAddress = peer
        self.context = context
        switch context {
        case .netpoll:
            self.model = .netpoll
            self.rwThreads = nil
        case .rwloop:
            self.model = .rwloop
            self.rwThreads = RWThreadStates()
        }
        self.maxCoalesce = options.maxCoalesce
        self.writeLimit = options.writeLimit
        self.idleTimeoutNs = options.idleTimeout.map { Connection.nanoseconds($0) } ?? 0
        self.workers = options.workers
        self.strand = options.workers == nil ? options.strand : nil
        self.totals = options.totals
        self.observer = options.observer
        self.label = label
        self.shardKey = shardKey ?? id
        self.openedAt = MonotonicClock.now()
        self.lastActivity = Atomic(MonotonicClock.coarse())
        self.iov = .allocate(capacity: options.maxCoalesce)
        if state == .open { localAddress = Socket.localAddress(fd) }
    }

    deinit { iov.deallocate() }

    /// Nanoseconds of a Duration (negative counts as zero).
    public static func nanoseconds(_ d: Duration) -> UInt64 {
        let c = d.components
        return UInt64(max(0, c.seconds)) * 1_000_000_000 + UInt64(max(0, c.attoseconds / 1_000_000_000))
    }

    /// The current state (a snapshot; may change at once).
    public var currentState: State { lock.withLock { state } }

    /// The pool this connection's reads come from; handlers take their output buffers from it too, so buffers
    /// return to the pool of the thread that uses them.
    public var bufferPool: BufferPool {
        switch context {
        case .netpoll(let p): return p.pool
        case .rwloop(let g): return g.pool
        }
    }

    /// The peer's IP as text bytes (for X-Forwarded-For), computed once.
    public var peerIPBytes: [UInt8] {
        if let b = cachedPeerIP { return b }
        let b = Array((peerAddress?.ip ?? "").utf8)
        cachedPeerIP = b
        return b
    }

    /// Why it closed (meaningful once `currentState` is `.closed`).
    public var reasonClosed: CloseReason { lock.withLock { closeReason } }

    /// The peer has finished sending (its FIN was read). Any thread; with workers, may be true before the handler
    /// has run its `connectionDidReadEOF`.
    public var hasReadEOF: Bool { readEOF.load(ordering: .relaxed) }

    /// When the connection last read or wrote a byte (coarse monotonic ns), for idle deadlines.
    public var lastActivityNs: UInt64 { lastActivity.load(ordering: .relaxed) }

    /// Bytes queued and not yet written.
    public var queuedBytes: Int { lock.withLock { queue.bytes } }

    /// The serial executor the handler runs on: the worker shard (workers > 0), the poller (netpoll inline) or the
    /// strand (rwloop L7 inline). nil for other rwloop handlers, whose callbacks come from the connection's threads.
    public var executor: (any EventExecutor)? {
        if let w = workers { return w.shard(for: shardKey) }
        if case .netpoll(let p) = context { return p }
        return strand
    }

    /// Which thread runs the handler callbacks, for the Threads view and for handler authors.
    public var callbackThread: String {
        if workers != nil { return "worker" }
        if strand != nil { return "reader/writer, serial" }
        return model == .netpoll ? "poller" : "reader/writer"
    }

    // MARK: - Writing (any thread)

    /// Queues `buffer` for writing; the connection owns it from now on. Writes after close or shutdown are dropped.
    public func write(_ buffer: ByteBuffer) {
        let added = enqueue(buffers: 1) { q in
            q.append(buffer)
            return true
        }
        if !added { buffer.release() }
    }

    /// Queues several buffers at once: one lock, one wake-up, so they leave in as few writevs as possible
    /// (pipelined responses, a header and a body).
    public func write(contentsOf buffers: [ByteBuffer]) {
        let added = enqueue(buffers: buffers.count) { q in
            for b in buffers { q.append(b) }
            return true
        }
        if !added { for b in buffers { b.release() } }
    }

    /// Queues a copy of `bytes` (a small frame: a heartbeat answer, an RPC response), appended to the last queued
    /// buffer when this method queued that buffer and it has room, so small frames share a buffer and a writev
    /// entry instead of holding a pool buffer each. `edit` may change the copy in place (an id to restore) before it
    /// can be written.
    public func write(copying bytes: UnsafeRawBufferPointer, edit: (UnsafeMutableRawBufferPointer) -> Void = { _ in }) {
        var appended = false
        let open = enqueue(buffers: 0) { q in
            guard let copy = q.appendToOwnTail(bytes) else { return false }
            edit(copy)
            appended = true
            return true
        }
        if appended || !open { return }
        let b = bytes.count <= bufferPool.bufferSize ? bufferPool.acquire() : ByteBuffer(capacity: bytes.count)
        let start = b.writePointer
        b.write(bytes)
        edit(UnsafeMutableRawBufferPointer(start: start, count: bytes.count))
        let added = enqueue(buffers: 1) { q in
            q.append(b, ownTail: true)
            return true
        }
        if !added { b.release() }
    }

    /// What every write shares: under the lock, unless the connection is closed or shutting down (then false and
    /// nothing added), `add` changes the queue and says whether it added anything; then the limit check, the
    /// writer's wake-up (rwloop) or the poller's flush (netpoll), and the counters.
    @inline(__always)
    private func enqueue(buffers: Int, _ add: (inout WriteQueue) -> Bool) -> Bool {
        lock.lock()
        guard state != .closed, !shutdownRequested else {
            lock.unlock()
            return false
        }
        let wasEmpty = queue.isEmpty
        guard add(&queue) else {
            lock.unlock()
            return true
        }
        let depth = queue.count
        var crossed = false
        if writable && overWriteLimit {
            writable = false
            crossed = true
        }
        let flushHere = model == .rwloop && rwNoteQueued(wasEmpty: wasEmpty)
        lock.unlock()
        if buffers > 0 { stats.buffersQueued.wrappingAdd(UInt64(buffers), ordering: .relaxed) }
        stats.notePeak(depth)
        if crossed { deliver(.writability(false)) }
        if case .netpoll(let p) = context { p.scheduleFlush(self) } else if flushHere { rwFlushClaimed() }
        return true
    }

    /// Sends FIN once everything queued is written. Reading goes on.
    public func shutdownWrite() {
        lock.lock()
        if state == .closed || shutdownRequested {
            lock.unlock()
            return
        }
        shutdownRequested = true
        let flushHere = model == .rwloop && rwNoteQueued(wasEmpty: true)
        lock.unlock()
        if case .netpoll(let p) = context { p.scheduleFlush(self) } else if flushHere { rwFlushClaimed() }
    }

    /// Queued buffers past which the queue counts as full whatever their bytes: many small writes (one heartbeat
    /// answer each) would otherwise hold a pool buffer apiece under a byte limit meant for large ones.
    public static let maxQueuedBuffers = 1024

    /// The queue is over its limit in bytes or in buffers (caller holds `lock`).
    private var overWriteLimit: Bool { queue.bytes > writeLimit || queue.count > Connection.maxQueuedBuffers }

    /// True while the write queue is under its limit.
    public var isWritable: Bool { lock.withLock { writable } }

    enum FlushOutcome { case drained, wouldBlock, failed(Int32), notReady }

    /// Writes queued buffers, `maxCoalesce` per writev, until the queue is empty or the socket is full.
    /// Only the connection's flusher calls this: its poller, or its rwloop writer thread.
    func flushQueue() -> FlushOutcome {
        while true {
            lock.lock()
            if state != .open {
                lock.unlock()
                return .notReady
            }
            if let t = tls, t.phase != .established {
                lock.unlock()
                return .notReady
            }
            let (n, total) = queue.gather(into: iov, max: maxCoalesce)
            if n == 0 {
                let doShutdown = shutdownRequested && !writeShutdown
                if doShutdown { writeShutdown = true }
                lock.unlock()
                if doShutdown {
                    tls?.sendCloseNotify()
                    Glibc.shutdown(fd, Int32(SHUT_WR))
                    closeIfBothHalvesDone()
                }
                return .drained
            }
            lock.unlock()
            let outcome = tls.map { tlsWrite($0, buffers: n) } ?? ioCall({ cskiff_sendv(fd, iov, Int32(n)) })
            switch outcome {
            case .done(let written):
                stats.recordWritev(buffers: tls == nil ? n : buffersCovered(by: written, of: n))
                stats.bytesWritten.wrappingAdd(UInt64(written), ordering: .relaxed)
                if written < total { stats.partialWrites.wrappingAdd(1, ordering: .relaxed) }
                lock.lock()
                let nowWritable = consumeWritten(written)
                lock.unlock()
                lastActivity.store(activityClock?.pointee ?? MonotonicClock.coarse(), ordering: .relaxed)
                if nowWritable { deliver(.writability(true)) }
            case .wouldBlock:
                stats.eagain.wrappingAdd(1, ordering: .relaxed)
                return .wouldBlock
            case .error(let e):
                return .failed(e)
            }
        }
    }

    /// Drops `written` bytes from the queue; true when that brought it back under half its limits, so the handler
    /// is told it may write again. Caller holds `lock`; the flusher (poller, writer thread or direct writer) calls it.
    @inline(__always)
    func consumeWritten(_ written: Int) -> Bool {
        queue.consume(written)
        guard !writable && queue.bytes <= writeLimit / 2 && queue.count <= Connection.maxQueuedBuffers / 2 else {
            return false
        }
        writable = true
        return true
    }

    // MARK: - Reading control (any thread)

    /// Stops reading after the current read; the peer is then held back by TCP flow control.
    public func pauseReading() {
        if !readPaused.exchange(true, ordering: .relaxed) {
            stats.readPauses.wrappingAdd(1, ordering: .relaxed)
        }
    }

    /// Reading resumes (and catches up with anything that arrived meanwhile).
    public func resumeReading() {
        switch context {
        case .netpoll(let p):
            // Not paused: nothing to catch up with (a read attempt would only cost an EAGAIN syscall).
            guard readPaused.exchange(false, ordering: .relaxed) else { return }
            p.scheduleRead(self)
        case .rwloop:
            lock.withLock {
                readPaused.store(false, ordering: .relaxed)
                lock.broadcast()
            }
        }
    }

    public var isReadingPaused: Bool { readPaused.load(ordering: .relaxed) }

    // MARK: - Closing (any thread)

    /// Closes now, dropping anything still queued. `connectionDidClose` follows exactly once.
    public func close(_ reason: CloseReason = .local) {
        switch context {
        case .netpoll(let p): p.close(self, reason: reason)
        case .rwloop: rwClose(reason)
        }
    }

    /// After FIN was read and our FIN was sent, the connection is finished.
    func closeIfBothHalvesDone() {
        let done = lock.withLock { writeShutdown } && readEOF.load(ordering: .relaxed)
        if done { close(.eof) }
    }

    // MARK: - Delivering to the handler

    /// Hands an event to the handler, inline, through the connection's worker shard, or on its strand (inline too
    /// when the strand is free).
    @inline(__always)
    func deliver(_ e: Event) {
        if let w = workers {
            w.submit(shard: shardKey, .event(self, e))
        } else if let s = strand {
            s.submit(.event(self, e))
        } else {
            handle(e)
        }
    }

    /// Runs an event on the current thread (the I/O thread, or the worker shard).
    func handle(_ e: Event) {
        guard let h = handler else {
            if case .read(let b) = e { b.release() }
            return
        }
        switch e {
        case .read(let b): h.connection(self, didRead: b)
        case .eof: h.connectionDidReadEOF(self)
        case .connected: h.connectionDidConnect(self)
        case .writability(let w): h.connection(self, writabilityChanged: w)
        case .closed(let r):
            h.connectionDidClose(self, reason: r)
            handler = nil
        }
    }

    /// Records a successful read.
    @inline(__always)
    func noteRead(_ n: Int) {
        stats.bytesRead.wrappingAdd(UInt64(n), ordering: .relaxed)
        stats.readCalls.wrappingAdd(1, ordering: .relaxed)
        lastActivity.store(activityClock?.pointee ?? MonotonicClock.coarse(), ordering: .relaxed)
    }

    /// Called once, when the fd is closed: updates the owner's counters, the registry and the observer.
    func noteClosed(_ reason: CloseReason) {
        if let s = listenerStats {
            s.active.wrappingSubtract(1, ordering: .relaxed)
            s.closed.wrappingAdd(1, ordering: .relaxed)
        }
        totals?.absorb(stats)
        registry.remove(self)
        observer?.connectionClosed(self, reason: reason)
    }

    /// Called once the connection is set up (accepted, or connect started).
    func noteOpened() {
        registry.add(self)
        observer?.connectionOpened(self)
    }

    /// The registry of this connection's poller or rwloop group.
    var registry: ConnectionRegistry {
        switch context {
        case .netpoll(let p): return p.registry
        case .rwloop(let g): return g.registry
        }
    }

    /// Which I/O thread serves this connection, for the Connections view ("poller 1", "rwloop").
    public var ioThread: String {
        switch context {
        case .netpoll(let p): return p.name
        case .rwloop(let g): return "\(g.name) r/w"
        }
    }

    /// Opens an outbound connection under the same thread model and on the same poller (netpoll) as this one, with
    /// this connection's worker pool and shard (`options.workers` is replaced), so a proxied pair never crosses threads it does not need to.
    public func connectSibling(
        to address: SocketAddress, timeout: Duration, options: ConnectionOptions, label: String,
        handler: any ConnectionHandler
    ) -> Connection {
        var options = options
        options.workers = workers
        options.strand = strand
        if options.observer == nil { options.observer = observer }
        switch context {
        case .netpoll(let p):
            return p.connect(
                to: address, timeout: timeout, options: options, label: label, shardKey: shardKey, handler: handler)
        case .rwloop(let g):
            return g.connect(
                to: address, timeout: timeout, options: options, label: label, shardKey: shardKey, handler: handler)
        }
    }

    /// Records the local address once connected; false when the connection landed on itself.
    ///
    /// A connect to a local port nobody listens on can be answered by its own SYN when the kernel picks that very
    /// port as the source (TCP simultaneous open, possible whenever a backend's port lies in the ephemeral range):
    /// the socket then talks to itself and holds the port the real server needs. Such a connection is reported as
    /// refused (which is the truth: nothing listens there), so retries and health checks see a down host, and it is
    /// counted in `Connection.selfConnects`.
    func didEstablish() -> Bool {
        localAddress = Socket.localAddress(fd)
        if direction == .outbound, let l = localAddress, let p = peerAddress, l.isSameEndpoint(as: p) {
            Connection.selfConnects.wrappingAdd(1, ordering: .relaxed)
            Socket.setAbortiveClose(fd)  // the port is free at once, not after TIME_WAIT
            return false
        }
        return true
    }

    /// Outbound connections that landed on themselves and were closed as refused, process-wide.
    public static let selfConnects = Atomic<UInt64>(0)
}

extension Connection: CustomStringConvertible {
    public var description: String {
        "conn#\(id) \(direction.rawValue) \(model.rawValue) \(peerAddress?.description ?? "?")"
    }
}
