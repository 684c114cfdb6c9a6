import CSkiffLinux
import Glibc
import Synchronization

/// One epoll loop on its own thread. Owns the connections registered with it: their reads, writevs, timers and
/// closes all run here, so pollers share nothing on the hot path (each has its own buffer pool too).
///
/// Other threads talk to a poller only through `execute`, `scheduleFlush`, `scheduleRead` and `close`, which queue
/// work under a small mutex and wake the loop with an eventfd. Poller-confined state is marked; hence
/// `@unchecked Sendable`.
public final class Poller: EventExecutor, @unchecked Sendable {
    enum Registration {
        case connection(Connection)
        case listener(Listener)
        case wake
    }

    /// Work queued from other threads.
    struct Remote {
        var tasks: [@Sendable () -> Void] = []
        var flushes: [Connection] = []
        var reads: [Connection] = []
        var spareTasks: [@Sendable () -> Void] = []
    }

    public let index: Int
    public let name: String
    public let executorIndex = ExecutorIndices.allocate()
    let epfd: Int32
    let wakeFD: Int32
    /// This poller's buffers.
    public let pool: BufferPool
    /// This poller's live connections, for telemetry.
    public let registry = ConnectionRegistry()
    private let remote = Mutex(Remote())
    private let wakePending = Atomic<Bool>(false)
    private let threadHandle = Atomic<UInt>(0)
    private let running = Atomic<Bool>(true)
    /// False once `stop` was asked: tasks handed to it may never run.
    var isRunning: Bool { running.load(ordering: .relaxed) }

    // Poller-confined.
    private var slots: [Registration?] = [.wake]
    /// Slot i's connection, unmanaged (`slots` holds it): an event finds its connection without counting a
    /// reference. A closed slot keeps both until the end of the turn (`closedSlots`), so the connection outlives
    /// whatever event is being handled for it.
    private var connectionAt: [Unmanaged<Connection>?] = [nil]
    private var generations: [UInt32] = [0]
    private var freeSlots: [Int] = []
    /// Slots freed this turn: taken out of `slots` and made reusable once the turn's events are handled.
    private var closedSlots: [Int] = []
    private var pendingFlush = PollerConnectionList()
    private var readAgain: [Connection] = []
    /// Swapped with the lists above while they are worked through, so no turn allocates.
    private var scratch: [Connection] = []
    private let timers = TimerHeap()
    private var expired: [TimerHeap.Entry] = []
    /// The coarse monotonic time read once per loop turn, after epoll_wait returns: what this poller's connections
    /// stamp their activity with (a read and a write per connection per request would each read the clock).
    /// Written by the loop only; lives as long as the poller.
    let loopClock: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        p.initialize(to: MonotonicClock.coarse())
        return p
    }()

    // Telemetry, read from any thread.
    public let wakeups = Atomic<UInt64>(0)
    public let events = Atomic<UInt64>(0)
    public let registered = Atomic<Int>(0)
    public let tid = Atomic<Int32>(0)

    init(index: Int, name: String, pool: BufferPool) throws(SystemError) {
        self.index = index
        self.name = name
        self.pool = pool
        epfd = try sysCall("epoll_create1") { cskiff_epoll_create() }
        wakeFD = try sysCall("eventfd") { cskiff_eventfd() }
        try sysCall("epoll_ctl(eventfd)") {
            cskiff_epoll_ctl(epfd, Epoll.add, wakeFD, Epoll.pollIn | Epoll.edgeTriggered, 0)
        }
    }

    func start() throws(SystemError) {
        try NetThread.start(name: name) { [self] in self.run() }
    }

    public var inExecutor: Bool { inLoop }

    public func arm(_ timer: PollerTimer, afterNs ns: UInt64) {
        timers.push(timer, at: MonotonicClock.coarse() &+ ns)
    }

    /// True on this poller's own thread.
    @inline(__always) var inLoop: Bool {
        pthread_equal(pthread_self(), pthread_t(threadHandle.load(ordering: .relaxed))) != 0
    }

    // MARK: - Cross-thread entry points

    /// Runs `task` on the poller thread (now, if already there).
    public func execute(_ task: @escaping @Sendable () -> Void) {
        if inLoop {
            task()
            return
        }
        remote.withLock { $0.tasks.append(task) }
        wake()
    }

    private func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            _ = cskiff_eventfd_signal(wakeFD)
        }
    }

    /// Asks for `c`'s write queue to be flushed at the end of this loop turn (so many writes coalesce).
    func scheduleFlush(_ c: Connection) {
        if inLoop {
            if !c.flushScheduled {
                c.flushScheduled = true
                pendingFlush.append(c)
            }
            return
        }
        remote.withLock { $0.flushes.append(c) }
        wake()
    }

    /// Asks for `c` to be read again (after `resumeReading`).
    func scheduleRead(_ c: Connection) {
        if inLoop {
            if !c.readAgainScheduled {
                c.readAgainScheduled = true
                readAgain.append(c)
            }
            return
        }
        remote.withLock { $0.reads.append(c) }
        wake()
    }

    func close(_ c: Connection, reason: CloseReason) {
        if inLoop {
            closeNow(c, reason: reason)
        } else {
            execute { [self] in self.closeNow(c, reason: reason) }
        }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        wake()
    }

    // MARK: - Registration (poller thread)

    private func allocateSlot(_ r: Registration) -> (Int, UInt32) {
        let slot: Int
        if let s = freeSlots.popLast() {
            slot = s
            slots[s] = r
        } else {
            slot = slots.count
            slots.append(r)
            connectionAt.append(nil)
            generations.append(0)
        }
        if case .connection(let c) = r { connectionAt[slot] = .passUnretained(c) }
        generations[slot] &+= 1
        return (slot, generations[slot])
    }

    /// The slot's events are stale from now (its generation moves on); its registration goes at the end of the turn.
    private func freeSlot(_ slot: Int) {
        generations[slot] &+= 1
        closedSlots.append(slot)
    }

    /// Lets go of the registrations of the slots closed this turn and makes the slots reusable.
    private func releaseClosedSlots() {
        for slot in closedSlots {
            slots[slot] = nil
            connectionAt[slot] = nil
            freeSlots.append(slot)
        }
        closedSlots.removeAll(keepingCapacity: true)
    }

    @inline(__always) private func tag(_ slot: Int, _ gen: UInt32) -> UInt64 { UInt64(slot) | (UInt64(gen) << 32) }

    /// Adds a connection to this poller: edge-triggered read and write interest, registered once for its life.
    func register(_ c: Connection) {
        precondition(inLoop)
        let (slot, gen) = allocateSlot(.connection(c))
        c.pollSlot = slot
        c.pollGeneration = gen
        c.activityClock = UnsafePointer(loopClock)
        let ev = Epoll.pollIn | Epoll.pollOut | Epoll.pollRdHup | Epoll.edgeTriggered
        if cskiff_epoll_ctl(epfd, Epoll.add, c.fd, ev, tag(slot, gen)) != 0 {
            let e = errno
            freeSlot(slot)
            c.pollSlot = -1
            closeNow(c, reason: .readError(e))
            return
        }
        registered.wrappingAdd(1, ordering: .relaxed)
        if c.idleTimeoutNs > 0 { armIdleTimer(c, at: MonotonicClock.coarse() &+ c.idleTimeoutNs) }
    }

    /// Adds a listening socket (level-triggered, EPOLLEXCLUSIVE so one poller wakes per connection burst).
    func register(listener l: Listener) -> Bool {
        precondition(inLoop)
        let (slot, gen) = allocateSlot(.listener(l))
        if cskiff_epoll_ctl(epfd, Epoll.add, l.fd, Epoll.pollIn | Epoll.exclusive, tag(slot, gen)) != 0 {
            freeSlot(slot)
            return false
        }
        l.pollSlots[index] = slot
        return true
    }

    func deregister(listener l: Listener) {
        precondition(inLoop)
        guard let slot = l.pollSlots[index] else { return }
        _ = cskiff_epoll_ctl(epfd, Epoll.del, l.fd, 0, 0)
        freeSlot(slot)
        l.pollSlots[index] = nil
    }

    /// A one-off timer (allocates; for per-connection, not per-request, events).
    func schedule(after ns: UInt64, _ action: @escaping () -> Void) -> PollerTimer {
        let t = PollerTimer(action)
        timers.push(t, at: MonotonicClock.coarse() &+ ns)
        return t
    }

    /// The idle timer is created once per connection and re-armed lazily at last activity + timeout.
    private func armIdleTimer(_ c: Connection, at deadline: UInt64) {
        let t =
            c.idleTimer
            ?? PollerTimer { [unowned self, unowned c] in
                let due = c.lastActivity.load(ordering: .relaxed) &+ c.idleTimeoutNs
                if MonotonicClock.coarse() >= due {
                    self.closeNow(c, reason: .idleTimeout)
                } else {
                    self.armIdleTimer(c, at: due)
                }
            }
        c.idleTimer = t
        timers.push(t, at: deadline)
    }

    // MARK: - Outbound connections

    /// Starts a non-blocking connect on this poller. The handler hears `connectionDidConnect` or
    /// `connectionDidClose(.connectFailed/.connectTimeout)`. Callable from any thread.
    public func connect(
        to address: SocketAddress, timeout: Duration, options: ConnectionOptions, label: String,
        shardKey: UInt64? = nil, handler: any ConnectionHandler
    ) -> Connection {
        let c: Connection
        var connected = false
        do {
            let (fd, now) = try Socket.startConnect(to: address, from: options.sourceAddress)
            connected = now
            c = Connection(
                fd: fd, direction: .outbound, state: .connecting, peer: address, context: .netpoll(self),
                options: options, label: label, shardKey: shardKey)
        } catch {
            c = Connection(
                fd: -1, direction: .outbound, state: .connecting, peer: address, context: .netpoll(self),
                options: options, label: label, shardKey: shardKey)
            c.handler = handler
            c.noteOpened()
            let e = error.errno
            execute { [self] in self.closeNow(c, reason: .connectFailed(e)) }
            return c
        }
        c.handler = handler
        if let ep = options.tls { c.tls = TLSSession.client(ep, fd: c.fd, peer: address.description, serialize: false) }
        c.noteOpened()
        let timeoutNs = Connection.nanoseconds(timeout)
        execute { [self, connected] in
            self.register(c)
            if c.currentState == .closed { return }
            if connected {
                self.finishConnect(c)
            } else {
                c.connectTimer = self.schedule(after: timeoutNs) { [unowned self, unowned c] in
                    c.connectTimer = nil
                    if c.currentState == .connecting { self.closeNow(c, reason: .connectTimeout) }
                }
            }
        }
        return c
    }

    private func finishConnect(_ c: Connection) {
        let err = Socket.pendingError(c.fd)
        if err != 0 {
            closeNow(c, reason: .connectFailed(err))
            return
        }
        if !c.didEstablish() {
            closeNow(c, reason: .connectFailed(ECONNREFUSED))
            return
        }
        c.connectTimer?.cancel()
        c.connectTimer = nil
        c.lock.withLock { c.state = .open }
        c.lastActivity.store(MonotonicClock.coarse(), ordering: .relaxed)
        if let t = c.tls {
            armHandshakeTimer(c, t)
            advanceTLS(c, t)  // `connected` follows the handshake
            return
        }
        c.deliver(.connected)
        scheduleFlush(c)
    }

    // MARK: - Accepting

    /// Adopts an accepted fd: makes its connection, asks the listener for a handler, registers it.
    /// Serves an accepted connection here; its listener slot was already taken (`Listener.reserveSlot`).
    func adopt(fd: Int32, listener l: Listener) {
        let peer = Socket.peerAddress(fd)
        Socket.setNoDelay(fd)
        let c = Connection(
            fd: fd, direction: .inbound, state: .open, peer: peer, context: .netpoll(self), options: l.connectionOptions,
            label: l.name)
        c.listenerStats = l.stats
        l.stats.accepted.wrappingAdd(1, ordering: .relaxed)
        if let ep = l.tls { c.tls = TLSSession.server(ep, fd: fd, serialize: false) }
        c.noteOpened()
        if let t = c.tls {
            // The filter hears of the connection once its handshake is done: a client refused at the handshake
            // costs no upstream connection.
            c.acceptedBy = l
            register(c)
            if c.state == .open { armHandshakeTimer(c, t) }
            return
        }
        c.handler = l.delegate.listener(l, accepted: c)
        register(c)
    }

    // MARK: - The loop

    private func run() {
        threadHandle.store(UInt(pthread_self()), ordering: .relaxed)
        tid.store(currentThreadID(), ordering: .relaxed)
        let maxEvents = 256
        let evFlags = UnsafeMutablePointer<UInt32>.allocate(capacity: maxEvents)
        let evData = UnsafeMutablePointer<UInt64>.allocate(capacity: maxEvents)
        defer {
            evFlags.deallocate()
            evData.deallocate()
        }
        while running.load(ordering: .relaxed) {
            var timeout: Int32 = -1
            if !readAgain.isEmpty || !pendingFlush.isEmpty {
                timeout = 0
            } else if let d = timers.nextDeadline() {
                let now = MonotonicClock.coarse()
                timeout = d <= now ? 0 : Int32(min((d - now) / 1_000_000 + 1, 60_000))
            }
            let n = cskiff_epoll_wait(epfd, evFlags, evData, Int32(maxEvents), timeout)
            loopClock.pointee = MonotonicClock.coarse()
            wakeups.wrappingAdd(1, ordering: .relaxed)
            if n > 0 {
                events.wrappingAdd(UInt64(n), ordering: .relaxed)
                for i in 0..<Int(n) { dispatch(flags: evFlags[i], tag: evData[i]) }
            }
            runReadAgain()
            runTimers()
            runFlushes()
            if !closedSlots.isEmpty { releaseClosedSlots() }
        }
        shutdownAll()
        releaseClosedSlots()
    }

    private func dispatch(flags: UInt32, tag: UInt64) {
        let slot = Int(tag & 0xffff_ffff)
        guard slot < slots.count else { return }
        if let c = connectionAt[slot] {
            // A stale event: the slot was closed (or closed and reused) since the event was queued.
            guard generations[slot] == UInt32(tag >> 32) else { return }
            return c._withUnsafeGuaranteedRef { connectionEvent($0, flags: flags) }
        }
        switch slots[slot] {
        case .wake?:
            _ = cskiff_eventfd_drain(wakeFD)
            runRemote()
        case .listener(let l)?:
            l.acceptBurst(on: self)
        case .connection?, nil:
            break
        }
    }

    /// An event for a connection of this poller (which holds it until the end of the turn).
    private func connectionEvent(_ c: Connection, flags: UInt32) {
        if c.state == .connecting {  // poller-confined transition; no lock needed to read here
            if flags & (Epoll.pollOut | Epoll.pollErr | Epoll.pollHup) != 0 { finishConnect(c) }
            if c.state != .open { return }
        }
        if flags & (Epoll.pollRdHup | Epoll.pollHup | Epoll.pollErr) != 0 { c.peerHalfClosed = true }
        if let t = c.tls {
            if t.phase != .established {
                advanceTLS(c, t)
                return
            }
            if t.readWantsWrite && flags & Epoll.pollOut != 0 { readReady(c) }
        }
        if c.splice.active {  // Poller+Splice.swift
            spliceEvent(c, flags: flags)
            return
        }
        if flags & (Epoll.pollIn | Epoll.pollRdHup | Epoll.pollHup | Epoll.pollErr) != 0 { readReady(c) }
        if flags & Epoll.pollOut != 0 && c.awaitingWritable { flush(c) }
    }

    private func runRemote() {
        wakePending.store(false, ordering: .sequentiallyConsistent)
        var work = remote.withLock { r -> Remote in
            var out = Remote()
            swap(&out.tasks, &r.tasks)
            swap(&out.flushes, &r.flushes)
            swap(&out.reads, &r.reads)
            return out
        }
        for t in work.tasks { t() }
        for c in work.flushes { scheduleFlush(c) }
        for c in work.reads { scheduleRead(c) }
        work.tasks.removeAll()
    }

    /// What one read did, and so whether `readReady` goes on.
    enum ReadStep {
        case more, done, eof
        case failed(CloseReason)
    }

    /// Reads until EAGAIN, EOF, a pause, or the fairness budget runs out (then the connection is read again next
    /// turn), in plaintext or through TLS. A connection in splice mode is read by `spliceRead` instead.
    func readReady(_ c: Connection) {
        var budget = 16
        while budget > 0 {
            if c.readPaused.load(ordering: .relaxed) || c.readEOF.load(ordering: .relaxed) || c.state != .open {
                return
            }
            budget -= 1
            let b = pool.acquire()
            let step: ReadStep
            if let t = c.tls { step = readTLS(c, t, into: b) } else { step = readPlain(c, into: b) }
            switch step {
            case .more:
                continue
            case .done:
                return
            case .eof:
                c.readEOF.store(true, ordering: .relaxed)
                c.deliver(.eof)
                c.closeIfBothHalvesDone()
                return
            case .failed(let reason):
                closeNow(c, reason: reason)
                return
            }
        }
        scheduleRead(c)
    }

    /// One read(2) into `b`, delivered. A read shorter than the buffer means the socket was empty at that moment (a
    /// later arrival raises a new edge), unless the peer already half-closed: then read on to the EOF.
    @inline(__always)
    private func readPlain(_ c: Connection, into b: ByteBuffer) -> ReadStep {
        switch ioCall({ cskiff_read(c.fd, b.writePointer, b.writableBytes) }) {
        case .done(0):
            b.release()
            return .eof
        case .done(let n):
            let full = n == b.writableBytes
            b.writerIndex += n
            c.noteRead(n)
            c.deliver(.read(b))
            if full && c.splice.candidate != nil { return startSplice(c) }
            return full || c.peerHalfClosed ? .more : .done
        case .wouldBlock:
            b.release()
            return .done
        case .error(let e):
            b.release()
            return .failed(.readError(e))
        }
    }

    /// Reads connections asked for again. A read here can resume another connection (an HTTP response finishing
    /// lets the next pipelined one be read): a few passes run those in the same turn, so their writes coalesce.
    private func runReadAgain() {
        var passes = 0
        while !readAgain.isEmpty && passes < 8 {
            passes += 1
            swap(&readAgain, &scratch)
            for c in scratch {
                c.readAgainScheduled = false
                if c.state == .open { c.splice.active ? spliceRead(c) : readReady(c) }
            }
            scratch.removeAll(keepingCapacity: true)
        }
    }

    private func runTimers() {
        // The turn's clock (read after epoll_wait): coarse timers need no fresher reading.
        let now = loopClock.pointee
        guard let d = timers.nextDeadline(), d <= now else { return }
        timers.popExpired(now: now, into: &expired)
        for e in expired { e.timer.fire(generation: e.generation) }
        expired.removeAll(keepingCapacity: true)
    }

    private func runFlushes() {
        // Flushing can schedule more flushes (a handler writing on writability): they join the end of the list.
        var i = 0
        while i < pendingFlush.count {
            let entry = pendingFlush[i]
            entry._withUnsafeGuaranteedRef { c in
                c.flushScheduled = false
                flush(c)
            }
            i += 1
        }
        pendingFlush.removeAll()
    }

    func flush(_ c: Connection) {
        switch c.flushQueue() {
        case .failed(let e): closeNow(c, reason: .writeError(e))
        case .drained: c.awaitingWritable = false
        case .wouldBlock, .notReady: c.awaitingWritable = true
        }
    }

    /// Closes on this thread: deregisters, closes the fd, drops queued buffers, tells the handler.
    func closeNow(_ c: Connection, reason: CloseReason) {
        c.lock.lock()
        if c.state == .closed {
            c.lock.unlock()
            return
        }
        c.state = .closed
        c.closeReason = reason
        c.queue.removeAll()
        c.lock.unlock()
        c.idleTimer?.cancel()
        c.idleTimer = nil
        c.connectTimer?.cancel()
        c.connectTimer = nil
        c.tlsTimer?.cancel()
        c.tlsTimer = nil
        c.sendCloseNotifyIfGraceful(reason)
        releaseSplice(c)
        if c.pollSlot >= 0 {
            // close() drops the epoll registration with the last reference to the file.
            freeSlot(c.pollSlot)
            c.pollSlot = -1
            registered.wrappingSubtract(1, ordering: .relaxed)
        }
        if c.fd >= 0 { Glibc.close(c.fd) }
        c.noteClosed(reason)
        c.deliver(.closed(reason))
    }

    private func shutdownAll() {
        for case .connection(let c)? in slots { closeNow(c, reason: .local) }
    }
}
