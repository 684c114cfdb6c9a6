import Glibc
import SkiffSystem
import Synchronization
import Testing

/// The systems layer every module stands on: the syscall door, threads, the condition lock, the accept loop.
@Suite(.timeLimit(.minutes(1)))
struct SystemLayerTests {
    /// A connected pair of Unix stream sockets, closed by the caller.
    private func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    @Test func socketIOReadsSendsAndSaysWouldBlockAndEndOfStream() throws {
        let (a, b) = try socketPair()
        defer { SocketIO.close(a) }
        SocketIO.setBlocking(a, false)
        var buffer: [UInt8] = [9]
        #expect(SocketIO.read(a, into: &buffer, max: 16) == .wouldBlock)
        #expect(buffer == [9], "nothing appended when nothing was read")
        #expect(SocketIO.sendAll(b, Array("hello".utf8)))
        #expect(SocketIO.poll(a, events: Int16(POLLIN), timeoutMs: 1000) & Int16(POLLIN) != 0)
        #expect(SocketIO.read(a, into: &buffer, max: 16) == .done(5))
        #expect(buffer == [9] + Array("hello".utf8))
        SocketIO.close(b)
        #expect(SocketIO.read(a, into: &buffer, max: 16) == .done(0))
        #expect(SocketIO.poll(a, events: Int16(POLLIN), timeoutMs: 0) != 0)
    }

    @Test func sendToAClosedPeerIsAnErrorNotASignal() throws {
        let (a, b) = try socketPair()
        defer { SocketIO.close(a) }
        SocketIO.close(b)
        let r = Array("x".utf8).withUnsafeBytes { SocketIO.send(a, $0, blocking: false) }
        #expect(r == .error(EPIPE))
    }

    @Test func ioCallRetriesEINTRAndMapsEAGAIN() {
        var calls = 0
        let r = ioCall {
            calls += 1
            if calls == 1 {
                errno = EINTR
                return -1
            }
            errno = EAGAIN
            return -1
        }
        #expect(r == .wouldBlock)
        #expect(calls == 2)
        #expect(throws: SystemError("probe", errno: ENOENT)) {
            try sysCall("probe") {
                errno = ENOENT
                return -1
            }
        }
    }

    @Test func netThreadRunsTheBodyUnderItsName() throws {
        let seen = Mutex<String?>(nil)
        try NetThread.start(name: "skiff-probe") {
            let fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC)
            var name = [UInt8](repeating: 0, count: 64)
            let n = fd < 0 ? 0 : name.withUnsafeMutableBytes { read(fd, $0.baseAddress, 64) }
            if fd >= 0 { SocketIO.close(fd) }
            name = Array(name.prefix(max(0, n)))
            seen.withLock { $0 = String(decoding: name.filter { $0 != 0x0A }, as: UTF8.self) }
        }
        let deadline = MonotonicClock.now() + 5_000_000_000
        while seen.withLock({ $0 }) == nil && MonotonicClock.now() < deadline { MonotonicClock.sleep(ns: 1_000_000) }
        #expect(seen.withLock { $0 } == "skiff-probe")
    }

    @Test func conditionLockTimesOutOnTheMonotonicClockAndWakesOnSignal() throws {
        let lock = ConditionLock()
        let start = MonotonicClock.now()
        let signalled = lock.withLock { lock.wait(untilMonotonicNs: ConditionLock.deadline(afterNs: 30_000_000)) }
        #expect(!signalled)
        #expect(MonotonicClock.now() - start >= 30_000_000)

        let ready = Atomic<Bool>(false)
        try NetThread.start(name: "signaller") {
            MonotonicClock.sleep(ns: 20_000_000)
            lock.withLock {
                ready.store(true, ordering: .sequentiallyConsistent)
                lock.broadcast()
            }
        }
        let deadline = ConditionLock.deadline(afterNs: 5_000_000_000)
        let woke = lock.withLock { () -> Bool in
            while !ready.load(ordering: .sequentiallyConsistent) {
                if !lock.wait(untilMonotonicNs: deadline) { return false }
            }
            return true
        }
        #expect(woke)
        #expect(ConditionLock.deadline(afterNs: .max) > MonotonicClock.now(), "a huge timeout does not overflow")
    }

    @Test func acceptLoopAdmitsNonBlockingCloseOnExecConnectionsAndStopsWithinAPoll() throws {
        let listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(listenFD >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, length) }
        }
        try #require(bound == 0 && listen(listenFD, 8) == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &length) }
        }

        let stopping = Atomic<Bool>(false)
        let admitted = Mutex<[(fd: Int32, flags: Int32, fdFlags: Int32)]>([])
        let finished = Atomic<Bool>(false)
        try NetThread.start(name: "accept-test") {
            AcceptLoop.run(
                listenFD, pollMs: 50, isStopping: { stopping.load(ordering: .relaxed) },
                admit: { fd in admitted.withLock { $0.append((fd, fcntl(fd, F_GETFL), fcntl(fd, F_GETFD))) } })
            finished.store(true, ordering: .relaxed)
        }

        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { SocketIO.close(client) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
        }
        try #require(connected == 0)
        let deadline = MonotonicClock.now() + 5_000_000_000
        while admitted.withLock({ $0.isEmpty }) && MonotonicClock.now() < deadline {
            MonotonicClock.sleep(ns: 1_000_000)
        }
        let first = try #require(admitted.withLock { $0.first })
        #expect(first.flags & O_NONBLOCK != 0)
        #expect(first.fdFlags & FD_CLOEXEC != 0)
        SocketIO.close(first.fd)

        let stopAsked = MonotonicClock.now()
        stopping.store(true, ordering: .relaxed)
        while !finished.load(ordering: .relaxed) && MonotonicClock.now() < deadline {
            MonotonicClock.sleep(ns: 1_000_000)
        }
        let stopped = finished.load(ordering: .relaxed)
        #expect(stopped)
        #expect(MonotonicClock.now() - stopAsked < 1_000_000_000, "seen within a poll interval, not after a connection")
        #expect(fcntl(listenFD, F_GETFD) >= 0, "the listening socket stays the caller's to close")
        SocketIO.close(listenFD)
    }
}
