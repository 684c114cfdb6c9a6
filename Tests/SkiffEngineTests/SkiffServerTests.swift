import Glibc
import Logging
import SkiffConfig
import SkiffControl
import SkiffEngine
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// Signals on demand: a signal sent to the test process would reach every test running in it.
final class FakeSignals: SignalSource, @unchecked Sendable {
    private let deliver = Mutex<(@Sendable (ServerSignal) -> Void)?>(nil)
    let stopped = Atomic<Bool>(false)

    func start(_ deliver: @escaping @Sendable (ServerSignal) -> Void) throws(SystemError) {
        self.deliver.withLock { $0 = deliver }
    }

    func stop() {
        deliver.withLock { $0 = nil }
        stopped.store(true, ordering: .relaxed)
    }

    func send(_ signal: ServerSignal) { deliver.withLock { $0 }?(signal) }
}

/// Log lines kept in memory, to check what the server says.
final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }

    var logger: Logger {
        Logger(label: "skiff") { [self] label in Handler(lines: self) }
    }

    struct Handler: LogHandler {
        let lines: LogLines
        var logLevel: Logger.Level = .debug
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(
            level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
            function: String, line: UInt
        ) {
            lines.lines.withLock { $0.append("\(level) \(message)") }
        }
    }
}

/// The new side of a binary upgrade, without an old process: sockets the test made itself.
final class FakeHandover: UpgradeHandover {
    let oldPID: Int32
    let sockets: [String: Int32]
    let handedAdminSocket = false
    var finished = 0
    var closedUnused = false
    var finishError: (any Error)?

    init(oldPID: Int32, sockets: [String: Int32]) {
        self.oldPID = oldPID
        self.sockets = sockets
    }

    func takeAdminSocket(address: String) -> Int32? { nil }
    func closeAdminSocket() {}
    func closeUnused() {
        closedUnused = true
        for fd in sockets.values { close(fd) }
    }
    func finish() throws {
        finished += 1
        if let finishError { throw finishError }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

/// A server started in-process on free ports, with a fake signal source, and everything it needs in a temporary
/// directory of its own.
final class ServerFixture {
    let dir: String
    let signals = FakeSignals()
    let logs = LogLines()
    let configPath: String
    var server: SkiffServer!

    init(config: String, pidFile: Bool = false, logFile: LogFile? = nil) throws {
        var template = Array("/tmp/skiff-server-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure(description: "mkdtemp") }
        dir = String(cString: made)
        configPath = dir + "/config.json"
        try rewrite(config)
        let loaded = try ConfigDecoder.loadWithText(path: configPath)
        var options = ServerOptions(
            config: loaded.config, configText: loaded.text, configPath: configPath,
            controlSocketPath: dir + "/skiff.sock")
        options.pidFilePath = pidFile ? dir + "/skiff.pid" : nil
        options.publishIntervalMs = 100
        options.logFile = logFile
        server = try SkiffServer(options: options, logger: logs.logger, signals: signals)
    }

    func rewrite(_ config: String) throws {
        guard let f = fopen(configPath + ".new", "w") else { throw TestFailure(description: "write config") }
        fputs(config, f)
        fclose(f)
        rename(configPath + ".new", configPath)
    }

    /// Stops what is still running and removes the directory.
    func tearDown() {
        if server.state != .stopped && server.state != .starting {
            server.requestStop(now: true, by: "test teardown")
            server.waitUntilStopped(timeoutMs: 10_000)
        }
        for name in ["config.json", "skiff.sock", "skiff.pid", "skiff.log", "skiff.log.1"] { unlink(dir + "/" + name) }
        rmdir(dir)
    }

    func elapsedMs(since t0: UInt64) -> Int { Int((MonotonicClock.now() - t0) / 1_000_000) }
}

func tcpConfig(port: Int, backend: Int, graceful: String = "30s") -> String {
    """
    {"servers":[{"graceful_timeout":"\(graceful)","listeners":[{"name":"t","address":"127.0.0.1:\(port)",
      "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]}],
     "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:\(backend)"}]}]}}
    """
}

func httpConfig(port: Int, cluster: String, a: Int, b: Int) -> String {
    """
    {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
      {"match":{"prefix":"/"},"route":{"cluster_name":"\(cluster)"}}]}]}],
     "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
       "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
     "cluster_manager":{"clusters":[{"name":"ca","hosts":[{"address":"127.0.0.1:\(a)"}]},
                                    {"name":"cb","hosts":[{"address":"127.0.0.1:\(b)"}]}]}}
    """
}

/// An echoed round trip through the proxy: the session is established end to end.
func openSession(port: Int) throws -> TestSocket {
    let s = try TestSocket.connect(port: port)
    s.setTimeout(seconds: 5)
    try s.send("ping")
    #expect(try s.receive(exactly: 4) == Array("ping".utf8))
    return s
}

/// One HTTP/1.1 request with `Connection: close`; the response body.
func httpBody(port: Int, path: String) -> String? {
    guard let s = try? TestSocket.connect(port: port, timeoutSeconds: 2) else { return nil }
    defer { s.close() }
    s.setTimeout(seconds: 5)
    guard (try? s.send("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")) != nil,
        let reply = try? s.receiveToEOF()
    else { return nil }
    guard let end = reply.indices.first(where: { reply[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else {
        return nil
    }
    return String(decoding: reply[(end + 4)...], as: UTF8.self)
}

func refused(port: Int) -> Bool { (try? TestSocket.connect(port: port, timeoutSeconds: 1)) == nil }

@Suite(.serialized) struct SkiffServerTests {
    @Test func startServesAndSIGTERMStopsEverything() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port), pidFile: true)
        defer { f.tearDown() }
        #expect(f.server.state == .starting)
        try f.server.start()
        #expect(f.server.state == .running)
        #expect(String(decoding: try readFile(f.dir + "/skiff.pid"), as: UTF8.self) == "\(getpid())\n")
        #expect(access(f.dir + "/skiff.sock", F_OK) == 0)
        let s = try openSession(port: port)
        s.close()
        #expect(waitUntil { f.server.engine.inFlight == 0 })
        f.signals.send(.terminate)
        #expect(f.server.waitUntilStopped(timeoutMs: 10_000))
        #expect(f.server.state == .stopped)
        #expect(refused(port: port))
        #expect(access(f.dir + "/skiff.pid", F_OK) != 0, "the pid file is removed")
        #expect(access(f.dir + "/skiff.sock", F_OK) != 0, "the control socket is removed")
        let signalsStopped = f.signals.stopped.load(ordering: .relaxed)
        #expect(signalsStopped, "the signal source is stopped")
        #expect(f.logs.contains("signal SIGTERM: stopping"))
        #expect(f.logs.contains("state starting -> running"))
        #expect(f.logs.contains("state running -> draining (SIGTERM)"))
        #expect(f.logs.contains("state draining -> stopped"))
    }

    /// A session stays open: the stop stops accepting at once, waits up to graceful_timeout (1 s), then closes.
    @Test func gracefulStopWaitsForAnInFlightSessionUpToGracefulTimeout() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port, graceful: "1s"))
        defer { f.tearDown() }
        try f.server.start()
        let s = try openSession(port: port)
        defer { s.close() }
        let t0 = MonotonicClock.now()
        f.signals.send(.terminate)
        #expect(waitUntil { f.server.state == .draining })
        #expect(waitUntil { refused(port: port) }, "no new connections while draining")
        #expect(!f.server.waitUntilStopped(timeoutMs: 300), "still waiting for the session")
        #expect(f.server.waitUntilStopped(timeoutMs: 10_000))
        let waited = f.elapsedMs(since: t0)
        #expect(waited >= 900 && waited < 6000, "stopped after \(waited) ms; graceful_timeout is 1 s")
        #expect(f.logs.contains("waiting up to 1 s for 1 in-flight requests and sessions"))
        #expect(f.logs.contains("closing with 1 still in flight"))
    }

    /// The stop ends as soon as the last session does, long before graceful_timeout.
    @Test func gracefulStopEndsWhenTheLastSessionFinishes() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port, graceful: "30s"))
        defer { f.tearDown() }
        try f.server.start()
        let s = try openSession(port: port)
        f.server.requestStop(by: "test")
        #expect(waitUntil { f.server.state == .draining })
        #expect(!f.server.waitUntilStopped(timeoutMs: 300))
        // The session still works while draining.
        try s.send("pong")
        #expect(try s.receive(exactly: 4) == Array("pong".utf8))
        let t0 = MonotonicClock.now()
        s.close()
        #expect(f.server.waitUntilStopped(timeoutMs: 10_000))
        #expect(f.elapsedMs(since: t0) < 5000)
        #expect(!f.logs.contains("still in flight"))
    }

    @Test func aSecondStopSignalStopsAtOnce() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port, graceful: "30s"))
        defer { f.tearDown() }
        try f.server.start()
        let s = try openSession(port: port)
        defer { s.close() }
        f.signals.send(.terminate)
        #expect(waitUntil { f.server.state == .draining })
        #expect(!f.server.waitUntilStopped(timeoutMs: 200))
        let t0 = MonotonicClock.now()
        f.signals.send(.interrupt)
        #expect(f.server.waitUntilStopped(timeoutMs: 10_000))
        #expect(f.elapsedMs(since: t0) < 3000, "graceful_timeout is 30 s; the second signal does not wait")
        #expect(f.server.lifecycleSnapshot.stopAtOnce)
        #expect(f.logs.contains("second signal: stopping now"))
    }

    /// `skiff stop --now` over the control socket: no wait at all, the answer still delivered.
    @Test func stopNowOverTheControlSocketSkipsTheWait() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port, graceful: "30s"))
        defer { f.tearDown() }
        try f.server.start()
        let s = try openSession(port: port)
        defer { s.close() }
        let c = try controlRequest(f.dir + "/skiff.sock", #"{"id":1,"cmd":"stop","now":true}"#)
        #expect(c.contains(#""stopping":true"#), "\(c)")
        #expect(refused(port: port), "stopped accepting before answering")
        let t0 = MonotonicClock.now()
        #expect(f.server.waitUntilStopped(timeoutMs: 10_000))
        #expect(f.elapsedMs(since: t0) < 3000)
        #expect(f.logs.contains("stop requested by control socket (uid \(getuid())) (now): stopping"))
    }

    /// SIGHUP through the server: the route moves to the other cluster, and the state passes through reloading.
    @Test func reloadThroughTheServerChangesARoute() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let b = try HTTPTestServer(name: "b")
        defer { b.stop() }
        let port = freePort()
        let f = try ServerFixture(config: httpConfig(port: port, cluster: "ca", a: a.port, b: b.port))
        defer { f.tearDown() }
        try f.server.start()
        #expect(httpBody(port: port, path: "/x") == "a /x")
        try f.rewrite(httpConfig(port: port, cluster: "cb", a: a.port, b: b.port))
        f.signals.send(.reload)
        #expect(waitUntil { httpBody(port: port, path: "/x") == "b /x" })
        #expect(waitUntil { f.logs.contains("SIGHUP: reloaded: listener h: routes updated") }, "\(f.logs.all)")
        #expect(f.logs.contains("state running -> reloading (SIGHUP)"))
        #expect(f.logs.contains("state reloading -> running (SIGHUP)"))
        #expect(f.server.state == .running)
        // And directly, as `skiff reload` does: back to the first cluster.
        try f.rewrite(httpConfig(port: port, cluster: "ca", a: a.port, b: b.port))
        let report = try f.server.reload(by: "test")
        #expect(report.changes.contains { $0.contains("listener h: routes updated") }, "\(report.changes)")
        #expect(httpBody(port: port, path: "/y") == "a /y")
        #expect(f.server.engine.reloadCount == 2)
    }

    @Test func anInvalidFileIsRefusedAndTheServerGoesOn() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let port = freePort()
        let f = try ServerFixture(config: httpConfig(port: port, cluster: "ca", a: a.port, b: a.port))
        defer { f.tearDown() }
        try f.server.start()
        try f.rewrite("{\"servers\":")
        #expect(throws: EngineError.self) { try f.server.reload(by: "test") }
        #expect(f.server.state == .running, "a refused reload ends the reloading state too")
        f.signals.send(.reload)
        #expect(waitUntil { f.logs.contains("SIGHUP: reload refused, the running config stays") })
        #expect(httpBody(port: port, path: "/z") == "a /z")
    }

    /// While the sockets are handed to a new process that lives, reloads are refused; once it has gone, allowed.
    /// While draining, refused.
    @Test func reloadIsRefusedWhileHandingOverAndWhileDraining() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port, graceful: "30s"))
        defer { f.tearDown() }
        try f.server.start()
        f.server.handingOver(to: getpid())  // a process that lives
        #expect {
            try f.server.reload(by: "test")
        } throws: { error in
            "\(error)".hasPrefix("a binary upgrade to pid \(getpid()) is under way")
        }
        f.server.handingOver(to: Int32.max)  // a process that cannot exist: the handover was abandoned
        _ = try f.server.reload(by: "test")
        #expect(f.server.lifecycleSnapshot.handedOverTo == nil)
        let s = try openSession(port: port)
        defer { s.close() }
        f.server.requestStop(by: "test")
        #expect(waitUntil { f.server.state == .draining })
        #expect {
            try f.server.reload(by: "test")
        } throws: { error in
            "\(error)".contains("skiff is stopping")
        }
        f.signals.send(.reload)
        #expect(waitUntil { f.logs.contains("SIGHUP: reload refused, the running config stays: skiff is stopping") })
        #expect(f.server.state == .draining)
    }

    /// SIGUSR1 reopens the log file (logrotate renamed it); a reopen that fails is logged and counted, not dropped.
    @Test func reopenLogsAndCountItsFailure() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        var template = Array("/tmp/skiff-log-test-XXXXXX".utf8CString)
        let logDir = String(cString: mkdtemp(&template)!)
        let logPath = logDir + "/skiff.log"
        let file = try LogFile(path: logPath)
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port), logFile: file)
        defer {
            f.tearDown()
            unlink(logPath)
            unlink(logPath + ".1")
            rmdir(logDir)
        }
        try f.server.start()
        file.write("before")
        #expect(rename(logPath, logPath + ".1") == 0)
        f.signals.send(.reopenLogs)
        #expect(waitUntil { f.logs.contains("log file reopened") })
        file.write("after")
        #expect(String(decoding: try readFile(logPath), as: UTF8.self) == "after\n")
        #expect(String(decoding: try readFile(logPath + ".1"), as: UTF8.self) == "before\n")
        #expect(f.server.engine.errors.count == 0)
        // Its directory gone: the reopen fails, and says so.
        unlink(logPath)
        unlink(logPath + ".1")
        rmdir(logDir)
        f.signals.send(.reopenLogs)
        #expect(waitUntil { f.server.engine.errors.count == 1 })
        #expect(
            f.logs.contains("error SIGUSR1: reopening the log file: log file \(logPath): No such file or directory"))
        #expect(eventKinds(f.server.engine).contains("engine.error"))
        #expect(f.server.state == .running)
    }

    /// A binary upgrade: the server serves the socket handed over (its port is held: binding it again would fail),
    /// then tells the old process to drain. If that word cannot be sent, the error is logged and counted.
    @Test func upgradeServesTheHandedOverSocketsThenTellsTheOldProcess() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let inherited = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: true)
        let port = Socket.localAddress(inherited)!.port
        let handover = FakeHandover(oldPID: Int32.max, sockets: ["127.0.0.1:\(port)": inherited])
        handover.finishError = TestFailure(description: "the old process hung up")
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port), pidFile: true)
        defer { f.tearDown() }
        try f.server.start(handover: handover)
        #expect(handover.finished == 1)
        #expect(!handover.closedUnused)
        let s = try openSession(port: port)
        s.close()
        #expect(f.logs.contains("took over 1 listening sockets from pid \(Int32.max)"))
        #expect(f.server.engine.errors.count == 1, "the failed word to the old process is counted")
        #expect(f.logs.contains("the old process hung up"))
        let stats = try controlRequest(f.dir + "/skiff.sock", #"{"id":1,"cmd":"stats"}"#)
        #expect(stats.contains(#""server":{"state":"running","engine_errors":1}"#), "\(stats)")
    }

    /// A start that fails leaves nothing behind: the handover's sockets closed, no pid file, stopped.
    @Test func aFailedStartLeavesNothingRunning() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let holder = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: true)
        defer { close(holder) }
        let port = Socket.localAddress(holder)!.port  // taken: the listener cannot bind
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port), pidFile: true)
        defer { f.tearDown() }
        #expect {
            try f.server.start()
        } throws: { error in
            "\(error)".contains("cannot listen on 127.0.0.1:\(port)")
        }
        #expect(f.server.state == .stopped)
        #expect(f.server.waitUntilStopped(timeoutMs: 0))
        #expect(access(f.dir + "/skiff.pid", F_OK) != 0)
        #expect(access(f.dir + "/skiff.sock", F_OK) != 0)
        #expect(!f.logs.contains("started"))
        #expect(throws: EngineError.self, "a server starts once") { try f.server.start() }
    }

    /// `stats` over the control socket names the state.
    @Test func statsCarryTheServerState() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let port = freePort()
        let f = try ServerFixture(config: tcpConfig(port: port, backend: echo.port))
        defer { f.tearDown() }
        try f.server.start()
        let stats = try controlRequest(f.dir + "/skiff.sock", #"{"id":1,"cmd":"stats"}"#)
        #expect(stats.contains(#""server":{"state":"running","engine_errors":0}"#), "\(stats)")
        #expect(stats.contains(#""frame":{"type":"frame""#), "\(stats)")
        let events = try controlRequest(f.dir + "/skiff.sock", #"{"id":2,"cmd":"events","kind":"server.state"}"#)
        #expect(events.contains(#""from":"starting","to":"running""#), "\(events)")
    }
}

/// Kinds of the events in the engine's ring.
func eventKinds(_ engine: Engine) -> [String] {
    var cursor: UInt64 = 0
    var buf: [UInt8] = []
    var kinds: [String] = []
    while case .frame(let seq, _) = engine.hub.events.read(after: cursor, into: &buf) {
        cursor = seq
        let key = Array(#""kind":""#.utf8)
        if let at = buf.indices.first(where: { buf[$0...].starts(with: key) }) {
            let rest = buf[(at + key.count)...]
            kinds.append(String(decoding: rest.prefix { $0 != UInt8(ascii: "\"") }, as: UTF8.self))
        }
    }
    return kinds
}

/// One request line to a control socket; the reply line.
func controlRequest(_ path: String, _ line: String) throws -> String {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure(description: "socket") }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in path.utf8.enumerated() { raw[i] = b }
    }
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard rc == 0 else { throw TestFailure(description: "connect \(path): errno \(errno)") }
    let s = TestSocket(fd: fd)
    s.setTimeout(seconds: 5)
    try s.send(line + "\n")
    var reply: [UInt8] = []
    while !reply.contains(0x0A), let some = try s.receiveSome() { reply += some }
    return String(decoding: reply, as: UTF8.self)
}
