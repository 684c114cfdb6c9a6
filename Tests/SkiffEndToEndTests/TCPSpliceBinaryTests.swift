import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// One `skiff start` for the splice tests: a tcp_proxy listener per thread model (`np` netpoll with one poller, `rw`
/// rwloop) in front of one backend (cluster `b`), optionally behind TLS, each session logged as
/// "<bytes_received> <bytes_sent>", and an admin port for `/metrics`. `stop` ends this process only.
final class SpliceRig {
    let process: SkiffProcess
    let netpoll: Int
    let rwloop: Int
    let admin: Int
    let dir: String
    var logPath: String { dir + "/tcp.log" }

    init(backend: Int, tls: Bool = false) throws {
        dir = makeTempDirectory("splice")
        var attempt = 0
        while true {
            attempt += 1
            let (np, rw, ad) = (freePort(), freePort(), freePort())
            let chain = tls ? #""tls_context":\#(TLSConfigText.context()),"# : ""
            let log = #""access_logs":[{"log_path":"\#(dir)/tcp.log","log_format":"%bytes_received% %bytes_sent%"}]"#
            func listener(_ name: String, _ port: Int, _ model: String, _ extra: String) -> String {
                #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)",\#(extra)"filter_chains":[{\#(chain)"filters":[{"type":"tcp_proxy","config":{"cluster":"b"}}]}],\#(log)}"#
            }
            let config = """
                {"servers":[{"listeners":[\(listener("np", np, "netpoll", #""pollers":1,"#)),\(listener("rw", rw, "rwloop", ""))]}],
                 "cluster_manager":{"clusters":[{"name":"b","connect_timeout":"2s","hosts":[{"address":"127.0.0.1:\(backend)"}]}]},
                 "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(ad)}}}}
                """
            let path = dir + "/skiff.json"
            try overwrite(path, config)
            let p = try SkiffProcess(["start", "-c", path])
            if p.waitForOutput("started") {
                (process, netpoll, rwloop, admin) = (p, np, rw, ad)
                return
            }
            _ = p.stop()
            if attempt < 3 && p.output.contains("Address already in use") { continue }
            removeTree(dir)
            throw TestError("skiff did not start: \(p.output)")
        }
    }

    func port(_ model: NetModel) -> Int { model == .netpoll ? netpoll : rwloop }
    static func listener(_ model: NetModel) -> String { model == .netpoll ? "np" : "rw" }

    func stop() {
        _ = process.stop()
        removeTree(dir)
    }

    /// The value of one series of `/metrics` (`name` or `name{labels}`, exactly as written), or nil.
    func metric(_ series: String) -> Double? {
        guard let r = try? adminRequest(admin, "GET", "/metrics"), r.status == 200 else { return nil }
        for line in r.body.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// Waits until `series` satisfies `ok` (10 s at most); the last value seen.
    @discardableResult
    func waitMetric(_ series: String, seconds: Double = 10, _ ok: (Double) -> Bool) -> Double? {
        var last: Double?
        _ = waitUntil(seconds: seconds) {
            last = metric(series)
            return last.map(ok) ?? false
        }
        return last
    }

    /// Until the listener has no session left (its connections closed, their counters in the totals).
    func waitIdle(_ model: NetModel) -> Bool {
        waitMetric(#"downstream_connection_active{listener="\#(Self.listener(model))"}"#) { $0 == 0 } == 0
    }

    /// The access log's lines, once there is at least one (the writer flushes on its own schedule; 10 s at most).
    var logLines: [String] {
        var lines: [String] = []
        _ = waitUntil(seconds: 10) {
            lines = String(decoding: (try? readFile(logPath)) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
            return !lines.isEmpty
        }
        return lines
    }

    /// Resident memory of the skiff process, in KiB.
    var rssKiB: Int {
        let status = String(decoding: (try? readFile("/proc/\(process.pid)/status")) ?? [], as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }
}

/// A client connection that sends `upload` bytes of `PatternStream` (then FIN) on its own thread while this thread
/// reads and checks what comes back until EOF. Returns what was received and whether every byte was sent.
func patternExchange(port: Int, upload: Int, finAfterSending: Bool = true) throws -> (PatternCheck, sentAll: Bool) {
    let s = try TestSocket.connect(port: port, timeoutSeconds: 60)
    defer { s.close() }
    let sent = Atomic<Int>(0)  // 0 running, 1 all sent, 2 failed
    try NetThread.start(name: "splice-send", stackSize: 1 << 20) {
        let ok = PatternStream.send(s.fd, count: upload)
        if ok && finAfterSending { s.shutdownWrite() }
        sent.store(ok ? 1 : 2, ordering: .releasing)
    }
    let (check, _) = PatternCheck.receive(s.fd)
    _ = waitUntil(seconds: 60) { sent.load(ordering: .acquiring) != 0 }
    return (check, sent.load(ordering: .acquiring) == 1)
}

/// tcp_proxy's splice mode end to end (docs/architecture.md, "Splice mode"): bulk directions switch to splice(2) and
/// stay byte-exact both ways at once, half-close either way, hold memory under a slow reader, end cleanly on an
/// upstream reset, keep every byte and write counter right, fall back to copies without a pipe, and never splice
/// under TLS.
@Suite(.serialized) struct TCPSpliceBinaryTests {
    static let mib = 1 << 20

    /// 48 MiB up and 64 MiB down at the same time: both directions switch to splice, both streams arrive exactly, and
    /// the listener's and cluster's byte counters, the access log and the write counters say what was sent.
    @Test(arguments: NetModel.allCases)
    func bulkBothWaysAtOnceIsByteExactAndCounted(model: NetModel) throws {
        let (up, down) = (48 * Self.mib, 64 * Self.mib)
        let backend = try PatternServer(mode: .both(bytes: down))
        defer { backend.stop() }
        let rig = try SpliceRig(backend: backend.port)
        defer { rig.stop() }
        let (got, sentAll) = try patternExchange(port: rig.port(model), upload: up)
        #expect(sentAll)
        #expect(got.count == down && got.matches, "received \(got.count) bytes, matching: \(got.matches)")
        #expect(waitUntil(seconds: 10) { backend.received.count == 1 })
        let atBackend = backend.received.first
        #expect(atBackend?.count == up && atBackend?.matches == true, "\(String(describing: atBackend))")

        #expect(rig.waitIdle(model))
        let l = SpliceRig.listener(model)
        #expect(rig.metric("skiff_splice_routes_total") == 2, "both directions switch")
        #expect(rig.metric("skiff_splice_pipes") == 0, "pipes close with the session")
        let spliced = rig.metric("skiff_splice_bytes_total") ?? 0
        #expect(spliced > Double(up + down) / 2 && spliced <= Double(up + down), "\(spliced)")
        #expect(rig.metric(#"downstream_bytes_read_total{listener="\#(l)"}"#) == Double(up))
        #expect(rig.metric(#"downstream_bytes_write_total{listener="\#(l)"}"#) == Double(down))
        #expect(rig.metric(#"upstream_connection_bytes_read_total{cluster="b"}"#) == Double(down))
        #expect(rig.metric(#"upstream_connection_bytes_write{cluster="b"}"#) == Double(up))
        // Every splice to a socket is one write of one buffer; the copying path's writevs gather one or more.
        let writes = rig.metric(#"skiff_writev_total{listener="\#(l)"}"#) ?? 0
        let buffers = rig.metric(#"skiff_write_buffers_total{listener="\#(l)"}"#) ?? 0
        #expect(writes > 0 && buffers >= writes, "writev \(writes), buffers \(buffers)")
        #expect(rig.logLines == ["\(up) \(down)"])
    }

    /// The client sends everything and FIN first: the backend sees exactly the stream before EOF, and only then
    /// answers, through the direction still open.
    @Test(arguments: NetModel.allCases)
    func clientHalfCloseArrivesAfterEveryByte(model: NetModel) throws {
        let (up, down) = (32 * Self.mib, 24 * Self.mib)
        let backend = try PatternServer(mode: .replyAfterEOF(bytes: down))
        defer { backend.stop() }
        let rig = try SpliceRig(backend: backend.port)
        defer { rig.stop() }
        let (got, sentAll) = try patternExchange(port: rig.port(model), upload: up)
        #expect(sentAll)
        let atBackend = backend.received.first
        #expect(atBackend?.count == up && atBackend?.matches == true, "\(String(describing: atBackend))")
        #expect(got.count == down && got.matches, "received \(got.count) bytes, matching: \(got.matches)")
        #expect(rig.waitIdle(model))
        #expect(rig.metric("skiff_splice_routes_total") == 2)
        #expect(rig.logLines == ["\(up) \(down)"])
    }

    /// The backend sends everything and FIN first: the client reads exactly the stream and then EOF, and can still
    /// send its own stream afterwards.
    @Test(arguments: NetModel.allCases)
    func serverHalfCloseArrivesAfterEveryByte(model: NetModel) throws {
        let (up, down) = (24 * Self.mib, 32 * Self.mib)
        let backend = try PatternServer(mode: .sendFirst(bytes: down))
        defer { backend.stop() }
        let rig = try SpliceRig(backend: backend.port)
        defer { rig.stop() }
        let s = try TestSocket.connect(port: rig.port(model), timeoutSeconds: 60)
        defer { s.close() }
        let (got, error) = PatternCheck.receive(s.fd)
        #expect(error == 0 && got.count == down && got.matches, "received \(got.count), errno \(error)")
        #expect(PatternStream.send(s.fd, count: up))
        s.shutdownWrite()
        #expect(waitUntil(seconds: 30) { backend.received.count == 1 })
        let atBackend = backend.received.first
        #expect(atBackend?.count == up && atBackend?.matches == true, "\(String(describing: atBackend))")
        #expect(rig.waitIdle(model))
        #expect(rig.metric("skiff_splice_routes_total") == 2)
        #expect(rig.logLines == ["\(up) \(down)"])
    }

    /// A client that sends without ever reading, through an echo backend: both directions splice, the client is held
    /// back, and skiff's memory does not grow with what it was offered (at most a pipe per direction, in the kernel).
    @Test(arguments: NetModel.allCases)
    func slowReaderHoldsMemoryFlat(model: NetModel) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let rig = try SpliceRig(backend: echo.port)
        defer { rig.stop() }
        // Warm up (pools, threads) with a spliced echo, then measure.
        #expect(try checkEcho(port: rig.port(model), bytes: 16 * Self.mib, seed: 1))
        #expect(rig.waitIdle(model))
        let before = rig.rssKiB
        let s = try TestSocket.connect(port: rig.port(model))
        defer { s.close() }
        s.setTimeout(seconds: 1)
        let cap = 512 * Self.mib
        var sent = 0
        PatternStream.block.withUnsafeBytes { b in
            while sent < cap {
                let n = Glibc.send(s.fd, b.baseAddress!, 256 * 1024, Int32(MSG_NOSIGNAL))
                if n <= 0 { break }  // blocked a whole second (SO_SNDTIMEO): back-pressure reached the client
                sent += n
            }
        }
        #expect(sent < cap, "the client was never held back")
        #expect(rig.metric("skiff_splice_pipes") == 2, "both directions hold a pipe while stalled")
        let grown = rig.rssKiB - before
        #expect(grown < 16 * 1024, "RSS grew \(grown) KiB after \(sent) bytes offered")
        s.close()
        #expect(rig.waitIdle(model))
        #expect(rig.waitMetric("skiff_splice_pipes") { $0 == 0 } == 0)
    }

    /// The backend resets after 8 MiB of a long upload: the client's connection ends (EOF or reset) instead of
    /// hanging, the session and its pipes are gone, and what was read is counted.
    @Test(arguments: NetModel.allCases)
    func upstreamResetMidTransferEndsTheSession(model: NetModel) throws {
        let backend = try PatternServer(mode: .resetAfter(bytes: 8 * Self.mib))
        defer { backend.stop() }
        let rig = try SpliceRig(backend: backend.port)
        defer { rig.stop() }
        let started = MonotonicClock.now()
        let (got, sentAll) = try patternExchange(port: rig.port(model), upload: 256 * Self.mib)
        #expect(!sentAll, "the upload cannot finish: the backend is gone")
        #expect(got.count == 0)
        #expect(MonotonicClock.now() - started < 30_000_000_000, "the client waited for its timeout")
        #expect(rig.waitIdle(model))
        #expect(rig.metric("skiff_splice_pipes") == 0)
        #expect(rig.metric("skiff_splice_routes_total") ?? 0 >= 1)
        let read = rig.metric(#"downstream_bytes_read_total{listener="\#(SpliceRig.listener(model))"}"#) ?? 0
        #expect(read >= Double(8 * Self.mib), "\(read)")
        #expect(rig.waitMetric(#"upstream_connection_active{cluster="b"}"#) { $0 == 0 } == 0)
    }

    /// Out of descriptors when a session wants its pipes: it keeps copying (byte-exact both ways), the refusals are
    /// counted, and no connection fails.
    @Test(arguments: NetModel.allCases)
    func noPipeFallsBackToCopies(model: NetModel) throws {
        let (up, down) = (16 * Self.mib, 16 * Self.mib)
        let backend = try PatternServer(mode: .replyAfterEOF(bytes: down))
        defer { backend.stop() }
        let rig = try SpliceRig(backend: backend.port)
        defer { rig.stop() }
        let s = try TestSocket.connect(port: rig.port(model), timeoutSeconds: 60)
        defer { s.close() }
        // The session's both connections exist (the backend accepted), then no descriptor is left below the limit.
        #expect(PatternStream.send(s.fd, count: 1))
        #expect(waitUntil { backend.connections.load(ordering: .relaxed) == 1 })
        usleep(100_000)
        let pid = "\(rig.process.pid)"
        let original = try SkiffProcess.runCommand("prlimit", ["--pid", pid, "--nofile", "--output=SOFT", "--noheadings"])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let limit = try lowestFreeDescriptor(rig.process.pid)
        #expect(try SkiffProcess.runCommand("prlimit", ["--pid", pid, "--nofile=\(limit):"]).status == 0)
        var restored = false
        defer { if !restored { _ = try? SkiffProcess.runCommand("prlimit", ["--pid", pid, "--nofile=\(original):"]) } }
        let sender = Atomic<Int>(0)
        try NetThread.start(name: "splice-send", stackSize: 1 << 20) {
            var ok = true
            // The rest of the stream, from its second byte.
            PatternStream.block.withUnsafeBytes { b in
                var sent = 1
                while sent < up && ok {
                    let at = sent % b.count
                    let n = Glibc.send(s.fd, b.baseAddress! + at, min(up - sent, b.count - at), Int32(MSG_NOSIGNAL))
                    if n <= 0 { ok = false } else { sent += n }
                }
            }
            if ok { s.shutdownWrite() }
            sender.store(ok ? 1 : 2, ordering: .releasing)
        }
        let (got, error) = PatternCheck.receive(s.fd)
        #expect(waitUntil(seconds: 30) { sender.load(ordering: .acquiring) != 0 })
        #expect(sender.load(ordering: .acquiring) == 1)
        #expect(error == 0 && got.count == down && got.matches, "received \(got.count), errno \(error)")
        let atBackend = backend.received.first
        #expect(atBackend?.count == up && atBackend?.matches == true, "\(String(describing: atBackend))")
        #expect(try SkiffProcess.runCommand("prlimit", ["--pid", pid, "--nofile=\(original):"]).status == 0)
        restored = true
        #expect(rig.waitIdle(model))
        #expect(rig.metric("skiff_splice_routes_total") == 0)
        #expect(rig.metric("skiff_splice_pipe_failures_total") ?? 0 >= 1)
        #expect(rig.logLines == ["\(up) \(down)"])
    }

    /// A TLS listener: bulk through it is exact and is never spliced (the bytes must pass through OpenSSL).
    @Test(arguments: NetModel.allCases)
    func tlsListenerKeepsCopying(model: NetModel) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let rig = try SpliceRig(backend: echo.port, tls: true)
        defer { rig.stop() }
        let size = 8 * Self.mib
        let script = """
            import hashlib, socket, ssl, sys
            port, ca, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
            ctx = ssl.create_default_context(cafile=ca)
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost")
            block = bytes((i * 7919 + 13) % 251 for i in range(1 << 20))
            sent, back = hashlib.sha256(), hashlib.sha256()
            for _ in range(size >> 20):
                s.sendall(block)
                sent.update(block)
                got = 0
                while got < len(block):
                    chunk = s.recv(len(block) - got)
                    if not chunk:
                        sys.exit("eof")
                    back.update(chunk)
                    got += len(chunk)
            print("ok" if sent.digest() == back.digest() else "mismatch")
            """
        let path = try writeTempFile(script, suffix: ".py")
        defer { unlink(path) }
        let r = try SkiffProcess.runCommand(
            systemPython, [path, "\(rig.port(model))", TLSFixture.ca, "\(size)"], timeoutSeconds: 120)
        #expect(r.output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(r.output)")
        #expect(rig.metric("skiff_splice_routes_total") == 0)
        #expect(rig.metric("skiff_splice_pipe_failures_total") == 0)
        let l = SpliceRig.listener(model)
        #expect(rig.waitMetric(#"downstream_bytes_read_total{listener="\#(l)"}"#) { $0 == Double(size) } == Double(size))
    }
}

/// The lowest descriptor number process `pid` does not have open: with that as its soft limit, it can open none.
func lowestFreeDescriptor(_ pid: pid_t) throws -> Int {
    guard let d = opendir("/proc/\(pid)/fd") else { throw TestError("no /proc/\(pid)/fd") }
    defer { closedir(d) }
    var open = Set<Int>()
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let n = Int(name) { open.insert(n) }
    }
    var n = 0
    while open.contains(n) { n += 1 }
    return n
}
