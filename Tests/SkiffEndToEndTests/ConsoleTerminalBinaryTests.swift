import Glibc
import SkiffTestSupport
import Testing

/// The console in a real terminal (tmux) against a daemon with real traffic, for the defects of issue 15 that make
/// it untrustworthy in an incident: logs on the ncurses screen, the quit prompt, keys while too small, a restarted or
/// lost daemon, a missing socket, the refresh rate, narrow screens.
@Suite(.serialized) struct ConsoleTerminalBinaryTests {
    let bin = SkiffProcess.binaryPath

    func pane(_ session: String) -> String { (try? tmuxCapture(session)) ?? "" }
    func lines(_ session: String) -> [String] {
        var l = pane(session).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while l.last?.isEmpty == true { l.removeLast() }
        return l
    }

    /// A curl loop against `port` until stopped (bounded by the test: it stops it in a defer).
    func traffic(_ port: Int) throws -> SkiffProcess {
        try SkiffProcess(
            executable: "sh", ["-c", "for i in $(seq 1 2000); do curl -s -o /dev/null http://127.0.0.1:\(port)/x; sleep 0.02; done"])
    }

    struct Daemon {
        let backend: HTTPTestServer
        let port: Int
        let sock: String
        let config: String
        func hostAddress() -> String { "127.0.0.1:\(backend.port)" }
        func stop() {
            backend.stop()
            unlink(config)
        }
    }

    func daemonSetup(listener: String = "h") throws -> Daemon {
        let backend = try HTTPTestServer(name: "b")
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-term-\(port).sock"
        let text = controlTestConfig(port: port, backend: backend.port)
            .replacingOccurrences(of: #""name":"h""#, with: #""name":"\#(listener)""#)
        return Daemon(backend: backend, port: port, sock: sock, config: try writeTempFile(text))
    }

    /// `skiff start --tui` on `d` in a tmux session (which prints SKIFF-EXITED and the status when it ends), once the
    /// console shows its tabs. The caller kills the session.
    func startTUI(_ d: Daemon) throws -> String {
        let session = try tmuxStart(
            "sh -c '\(bin) start -c \(d.config) --control-socket \(d.sock) --tui; echo SKIFF-EXITED $?; sleep 30'")
        #expect(waitUntil(seconds: 15) { pane(session).contains("1 Overview") }, "\(pane(session))")
        return session
    }

    func hosts(_ sock: String) -> String { (try? SkiffProcess.run(["ctl", "hosts", "--socket", sock]).output) ?? "" }

    /// Defects 1 and 2: `skiff start --tui` without `--log-file`. A host state change logs a line; it must not reach
    /// the ncurses screen (header and tabs intact), it shows in Events as a `log` entry, and after `q` it is written
    /// to the terminal. The quit prompt takes `s` without Enter.
    @Test func tuiLogsStayOffTheScreenAndQuitTakesOneKey() throws {
        let d = try daemonSetup()
        defer { d.stop() }
        let session = try startTUI(d)
        defer { tmuxKill(session) }
        let load = try traffic(d.port)
        defer { load.kill() }
        let drain = try SkiffProcess.run(["ctl", "drain", "c", d.hostAddress(), "--socket", d.sock])
        #expect(drain.status == 0, "\(drain.output)")
        _ = try SkiffProcess.run(["ctl", "ready", "c", d.hostAddress(), "--socket", d.sock])
        usleep(1_500_000)
        var l = lines(session)
        #expect(!pane(session).contains("-> DRAIN"), "a log line reached the screen:\n\(pane(session))")
        #expect(l.first?.contains("skiff") == true && l.first?.contains("pid") == true, "\(l.first ?? "")")
        #expect(l.count > 1 && l[1].hasPrefix("1 Overview 2 Listeners"), "\(pane(session))")
        // Events shows the held line as a log entry.
        try tmuxKeys(session, "8")
        #expect(waitUntil(seconds: 5) { lines(session).contains { $0.contains(" log ") && $0.contains("-> DRAIN") } },
                "\(pane(session))")
        try tmuxKeys(session, "q")
        #expect(waitUntil(seconds: 5) { pane(session).contains("(s)top skiff or (k)eep it running headless") })
        l = lines(session)
        #expect(l.contains { $0.contains("notice skiff:") && $0.contains("-> DRAIN") }, "held lines written after:\n\(pane(session))")
        try tmuxKeys(session, "s")  // no Enter
        #expect(waitUntil(seconds: 15) { pane(session).contains("SKIFF-EXITED 0") }, "\(pane(session))")
    }

    /// Defect 2: `skiff stop` while the quit prompt waits stops Skiff (it was lost: the prompt sat in readLine).
    @Test func stopDuringTheQuitPromptStops() throws {
        let d = try daemonSetup()
        defer { d.stop() }
        let session = try startTUI(d)
        defer { tmuxKill(session) }
        try tmuxKeys(session, "q")
        #expect(waitUntil(seconds: 5) { pane(session).contains("(s)top skiff or (k)eep") }, "\(pane(session))")
        let stop = try SkiffProcess.run(["stop", "--socket", d.sock], timeoutSeconds: 30)
        #expect(stop.status == 0, "\(stop.output)")
        #expect(waitUntil(seconds: 15) { pane(session).contains("SKIFF-EXITED 0") }, "\(pane(session))")
    }

    /// Defect 2: `k` (no Enter) keeps it running headless; the control socket still answers.
    @Test func keepRunningTakesOneKey() throws {
        let d = try daemonSetup()
        defer { d.stop() }
        let session = try startTUI(d)
        defer {
            _ = try? SkiffProcess.run(["stop", "--socket", d.sock], timeoutSeconds: 30)
            tmuxKill(session)
        }
        try tmuxKeys(session, "q")
        #expect(waitUntil(seconds: 5) { pane(session).contains("(s)top skiff or (k)eep") })
        try tmuxKeys(session, "k")
        #expect(waitUntil(seconds: 5) { pane(session).contains("running headless") }, "\(pane(session))")
        usleep(500_000)
        #expect(!pane(session).contains("SKIFF-EXITED"))
        #expect(hosts(d.sock).contains(d.hostAddress()))
    }

    /// Defect 3: at 70x20 only "terminal too small" shows; `3` Down `d` `y` must drain nothing. `q` still quits.
    @Test func tooSmallTerminalIgnoresKeys() throws {
        let d = try daemonSetup()
        defer { d.stop() }
        let p = try SkiffProcess(["start", "-c", d.config, "--control-socket", d.sock, "--publish-interval", "200"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let load = try traffic(d.port)
        defer { load.kill() }
        let session = try tmuxStart("sh -c '\(bin) top --socket \(d.sock); echo TOP-EXITED; sleep 30'", width: 70, height: 20)
        defer { tmuxKill(session) }
        #expect(waitUntil(seconds: 10) { pane(session).contains("terminal too small") }, "\(pane(session))")
        for k in ["3", "Down", "d", "y"] {
            try tmuxKeys(session, k)
            usleep(200_000)
        }
        usleep(800_000)
        let hostLine = hosts(d.sock).split(separator: "\n").first { $0.contains(d.hostAddress()) } ?? ""
        #expect(hostLine.contains("READY") && !hostLine.contains("DRAIN"), "\(hostLine)")
        try tmuxKeys(session, "q")
        #expect(waitUntil(seconds: 5) { pane(session).contains("TOP-EXITED") }, "\(pane(session))")
    }

    /// Defects 4 and 12: the daemon dies (SIGKILL) under a held connection: the header turns to `DISCONNECTED since
    /// HH:MM:SS, retrying` with tabs and hints in place; a new daemon (new pid) on the same socket resets the model,
    /// so the old process's connection is gone from the Connections view.
    @Test func lostDaemonShowsAndRestartResets() throws {
        let d = try daemonSetup()
        defer { d.stop() }
        let a = try SkiffProcess(["start", "-c", d.config, "--control-socket", d.sock, "--publish-interval", "200"])
        defer { a.kill() }
        #expect(a.waitForOutput("started"), "\(a.output)")
        // A client that holds one keep-alive connection and prints its local port.
        let (client, script) = try startPython(
            """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", \(d.port)))
            s.sendall(b"GET /x HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n")
            s.recv(65536)
            print("PORT", s.getsockname()[1], flush=True)
            time.sleep(30)
            """)
        defer {
            client.kill()
            unlink(script)
        }
        #expect(client.waitForOutput("PORT"), "\(client.output)")
        let clientPort = client.output.split(separator: " ").last.map { $0.filter(\.isNumber) } ?? "?"
        let peer = "127.0.0.1:\(clientPort)"
        let session = try tmuxStart("sh -c '\(bin) top --socket \(d.sock); echo TOP-EXITED; sleep 30'")
        defer { tmuxKill(session) }
        #expect(waitUntil(seconds: 10) { pane(session).contains("pid \(a.pid)") }, "\(pane(session))")
        try tmuxKeys(session, "4")
        #expect(waitUntil(seconds: 10) { pane(session).contains(peer) }, "\(pane(session))")
        a.kill()
        #expect(waitUntil(seconds: 10) { lines(session).first?.contains("DISCONNECTED since") == true }, "\(pane(session))")
        let l = lines(session)
        let header = l.first ?? ""
        #expect(header.range(of: #"DISCONNECTED since \d\d:\d\d:\d\d, retrying"#, options: .regularExpression) != nil, "\(header)")
        #expect(l.count == 40, "the screen keeps its frame:\n\(pane(session))")
        #expect(l.count > 1 && l[1].hasPrefix("1 Overview 2 Listeners"), "\(pane(session))")
        #expect(l.last?.hasPrefix("q quit") == true, "\(l.last ?? "")")
        // A new process on the same socket and port.
        let b = try SkiffProcess(["start", "-c", d.config, "--control-socket", d.sock, "--publish-interval", "200"])
        defer { b.stop() }
        #expect(b.waitForOutput("started"), "\(b.output)")
        #expect(waitUntil(seconds: 10) { pane(session).contains("pid \(b.pid)") }, "\(pane(session))")
        usleep(600_000)
        #expect(!pane(session).contains(peer), "the old process's connection is still listed:\n\(pane(session))")
        #expect(!(lines(session).first ?? "").contains("DISCONNECTED"))
    }

    /// Defect 11: `skiff top --socket /missing.sock` says what `skiff ctl` says and keeps retrying until a daemon
    /// appears there; never "pid 0 up 0ns".
    @Test func missingSocketSaysWhyAndRetries() throws {
        let d = try daemonSetup()
        defer { d.stop() }
        let session = try tmuxStart("sh -c '\(bin) top --socket \(d.sock); echo TOP-EXITED; sleep 30'")
        defer { tmuxKill(session) }
        #expect(waitUntil(seconds: 10) {
            pane(session).contains("cannot reach skiff at \(d.sock): No such file or directory")
        }, "\(pane(session))")
        #expect(!pane(session).contains("pid 0") && !pane(session).contains("up 0ns"), "\(pane(session))")
        #expect(lines(session).first?.contains("DISCONNECTED since") == true)
        let p = try SkiffProcess(["start", "-c", d.config, "--control-socket", d.sock, "--publish-interval", "200"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(waitUntil(seconds: 10) { lines(session).first?.contains("pid \(p.pid)") == true }, "\(pane(session))")
    }

    /// Defect 9: the console asks the daemon for its rate and the header shows the rate frames really arrive at:
    /// 500 ms at start (the daemon publishes every 1 s on its own), 2 s after `-` `-`, 250 ms after `+` `+` `+`.
    @Test func refreshAsksTheDaemonAndShowsTheRealRate() throws {
        let d = try daemonSetup()
        defer { d.stop() }
        let p = try SkiffProcess(["start", "-c", d.config, "--control-socket", d.sock, "--publish-interval", "1000"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let session = try tmuxStart("sh -c '\(bin) top --socket \(d.sock); echo TOP-EXITED; sleep 30'")
        defer { tmuxKill(session) }
        func header() -> String { lines(session).first ?? "" }
        func arrives(_ pattern: String) -> Bool {
            header().range(of: "frames every " + pattern, options: .regularExpression) != nil
        }
        #expect(waitUntil(seconds: 8) { arrives(#"(4[5-9]\d|5[0-4]\d)ms"#) }, "\(header())")
        try tmuxKeys(session, "-")
        try tmuxKeys(session, "-")
        #expect(waitUntil(seconds: 10) { arrives(#"(1\.9\d|2\.0\d)s"#) }, "\(header())")
        for _ in 0..<3 { try tmuxKeys(session, "+") }
        #expect(waitUntil(seconds: 8) { arrives(#"2[2-7]\dms"#) }, "\(header())")
    }

    /// Defects 13 and 15 and the Events, help and badge items, at 80x24: a long listener name whole, the host
    /// actions' hints on the last line, selection kept per view, connection events hidden until `c`, the legend,
    /// the read-only badge.
    @Test func narrowScreenNamesHintsEventsLegendBadge() throws {
        let d = try daemonSetup(listener: "web_netpoll_listener_one")
        defer { d.stop() }
        let p = try SkiffProcess(["start", "-c", d.config, "--control-socket", d.sock, "--publish-interval", "200"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let load = try traffic(d.port)
        defer { load.kill() }
        let session = try tmuxStart("sh -c '\(bin) top --socket \(d.sock); echo TOP-EXITED; sleep 30'", width: 80, height: 24)
        defer { tmuxKill(session) }
        #expect(waitUntil(seconds: 10) { pane(session).contains("1 Overview") }, "\(pane(session))")
        try tmuxKeys(session, "2")
        #expect(waitUntil(seconds: 5) { lines(session).contains { $0.hasPrefix("web_netpoll_listener_one ") } }, "\(pane(session))")
        try tmuxKeys(session, "3")
        #expect(waitUntil(seconds: 5) { pane(session).contains(d.hostAddress()) }, "\(pane(session))")
        let hints = lines(session).last ?? ""
        for word in ["q quit", "? help", "d drain", "m maint", "r ready", "p pause", "+/- rate"] {
            #expect(hints.contains(word), "\(word) in \(hints)")
        }
        // Selection kept: the host row stays selected across a visit to another view (d asks about it).
        try tmuxKeys(session, "Down")
        try tmuxKeys(session, "4")
        try tmuxKeys(session, "3")
        try tmuxKeys(session, "d")
        #expect(waitUntil(seconds: 5) { pane(session).contains("drain host c/\(d.hostAddress())") }, "\(pane(session))")
        try tmuxKeys(session, "n")
        // Events: no connection events until c.
        try tmuxKeys(session, "8")
        usleep(800_000)
        #expect(!pane(session).contains("conn.open"), "\(pane(session))")
        try tmuxKeys(session, "c")
        #expect(waitUntil(seconds: 5) { pane(session).contains("conn.") }, "\(pane(session))")
        // The legend of the Writes view.
        try tmuxKeys(session, "6")
        try tmuxKeys(session, "?")
        #expect(waitUntil(seconds: 5) { pane(session).contains("buffers per writev") }, "\(pane(session))")
        try tmuxKeys(session, "q")
        try tmuxKeys(session, "q")
        #expect(waitUntil(seconds: 5) { pane(session).contains("TOP-EXITED") })
        // Read-only badge.
        let ro = try tmuxStart("sh -c '\(bin) top --read-only --socket \(d.sock); sleep 30'")
        defer { tmuxKill(ro) }
        #expect(waitUntil(seconds: 10) { lines(ro).first?.contains("READ-ONLY") == true }, "\(pane(ro))")
    }
}
