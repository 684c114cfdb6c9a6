import Glibc
import SkiffConfig
import SkiffTestSupport
import Testing

/// One HTTP listener on `port` to `backend`, with an admin block when `admin` is given (`(host, port, token)`).
func controlTestConfig(port: Int, backend: Int, admin: (host: String, port: Int, token: String?)? = nil) -> String {
    var adminText = ""
    if let a = admin {
        let token = a.token.map { #","token":"\#($0)""# } ?? ""
        adminText =
            #","admin":{"address":{"socket_address":{"address":"\#(a.host)","port_value":\#(a.port)}}\#(token)}"#
    }
    return """
        {"servers":[{"graceful_timeout":"5s","routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
          {"match":{"prefix":"/"},"route":{"cluster_name":"c","timeout":"10s"}}]}]}],
         "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
           "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
         "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:\(backend)"}]}]}\(adminText)}
        """
}

/// The control socket and the CLI against bad numbers, a second skiff, an unsafe socket directory, a server of
/// another user, a server that never answers, and a FIFO for a config (issue 13, items 1, 3, 8, 9c).
@Suite(.serialized) struct ControlSocketBinaryTests {
    /// `ctl events --limit=-1` trapped the engine (the process stopped serving and died). Now every out-of-range
    /// number is an error answer, from the CLI and from the socket, and the daemon serves on.
    @Test func outOfRangeNumbersAreErrorAnswers() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-limits-\(port).sock"
        let path = try writeTempFile(controlTestConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")

        let cli = try SkiffProcess.run(["ctl", "events", "--limit=-1", "--socket", sock], timeoutSeconds: 20)
        #expect(cli.status == 1)
        #expect(cli.output.contains("error: --limit: must be from 1 to 100000, got -1"), "\(cli.output)")
        let watch = try SkiffProcess.run(["ctl", "watch", "--count=-1", "--socket", sock], timeoutSeconds: 20)
        #expect(watch.status == 1, "\(watch.output)")

        let c = try ControlLineClient(path: sock)
        for (request, message) in [
            (#"{"id":1,"cmd":"events","limit":-1}"#, "limit must be an integer from 1 to 100000, got the number -1"),
            (
                #"{"id":1,"cmd":"events","limit":100001}"#,
                "limit must be an integer from 1 to 100000, got the number 100001"
            ),
            (
                #"{"id":1,"cmd":"events","limit":99999999999999999999999}"#,
                "limit must be an integer from 1 to 100000, got the number 99999999999999999999999"
            ),
            (
                #"{"id":1,"cmd":"events","limit":"7"}"#,
                #"limit must be an integer from 1 to 100000, got the string "7""#
            ),
            (
                #"{"id":1,"cmd":"events","since":-3}"#,
                "since must be a non-negative integer (a sequence number), got the number -3"
            ),
            (#"{"id":1,"cmd":"stop","now":1}"#, "now must be true or false, got the number 1"),
        ] {
            c.send(request)
            let reply = try c.line()
            #expect(reply["ok"]?.boolValue == false, "\(request)")
            #expect(reply["error"]?.stringValue == message, "\(request)")
        }
        c.send(#"{"id":2,"cmd":"events","limit":1}"#)
        #expect(try c.line()["events"]?.arrayValue.count == 1)
        // Still serving: the daemon neither trapped nor stopped.
        #expect(!p.hasExited)
        #expect(try curl(["http://127.0.0.1:\(port)/x"]).output == "b /x")
        let hosts = try SkiffProcess.run(["ctl", "hosts", "--socket", sock])
        #expect(hosts.status == 0, "\(hosts.output)")
    }

    /// --publish-interval=-5 was silently 50 and =5000000 trapped (UInt32 overflow in the publisher's sleep): both
    /// are refused in one line with nothing listening.
    @Test(arguments: ["-5", "0", "49", "60001", "5000000"])
    func publishIntervalOutOfRangeIsRefused(_ value: String) throws {
        let port = freePort()
        let path = try writeTempFile(controlTestConfig(port: port, backend: freePort()))
        defer { unlink(path) }
        let r = try SkiffProcess.run(["start", "-c", path, "--publish-interval=\(value)"], timeoutSeconds: 10)
        #expect(r.status == 1, "\(r.output)")
        #expect(
            r.output == "error: --publish-interval: must be from 50 to 60000 (milliseconds), got \(value)\n",
            "\(r.output)")
        #expect((try? TestSocket.connect(port: port, timeoutSeconds: 1)) == nil)
    }

    /// The other CLI numbers: one line and exit 1, nothing started (`demo --rate=-5` ran, `--duration=2h` was cut
    /// to 1 h silently).
    @Test(arguments: [
        (["demo", "--headless", "--rate=-5"], "error: --rate: must be from 1 to 100000 (requests per second), got -5"),
        (
            ["demo", "--headless", "--duration=2h"],
            #"error: --duration: expected a duration from 1ms to 1h (e.g. 10s), got "2h""#
        ),
        (["ctl", "events", "--limit=0"], "error: --limit: must be from 1 to 100000, got 0"),
        (["ctl", "events", "--limit=100001"], "error: --limit: must be from 1 to 100000, got 100001"),
        (
            ["ctl", "hosts", "--answer-timeout=2h"],
            #"error: --answer-timeout: expected a duration from 1ms to 1h (e.g. 5s, 500ms), got "2h""#
        ),
    ])
    func otherCLINumbersOutOfRangeAreRefused(_ args: [String], _ message: String) throws {
        // ctl gets a socket nobody serves: the check must come before any connect.
        let socketArgs = args[0] == "ctl" ? ["--socket", "/tmp/skiff-test-none.sock"] : []
        let r = try SkiffProcess.run(args + socketArgs, timeoutSeconds: 20)
        #expect(r.status == 1, "\(r.output)")
        #expect(r.output == message + "\n", "\(r.output)")
    }

    /// A second `skiff start` on a control socket another skiff serves printed the error after its listeners had
    /// started (and could abort with "Attempted to read an unowned reference"): now it checks the path first,
    /// prints that one line, exits 1, and never binds its own listener. Five times, for the race.
    @Test func secondStartOnAServedControlSocketPrintsOneLine() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-second-\(port).sock"
        let path = try writeTempFile(controlTestConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let first = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { first.stop() }
        #expect(first.waitForOutput("started"), "\(first.output)")
        for _ in 0..<5 {
            let other = freePort()
            let otherPath = try writeTempFile(
                controlTestConfig(port: other, backend: backend.port, admin: ("127.0.0.1", freePort(), nil)))
            defer { unlink(otherPath) }
            let r = try SkiffProcess.run(
                ["start", "-c", otherPath, "--control-socket", sock, "--publish-interval", "50"], timeoutSeconds: 20)
            #expect(r.status == 1, "\(r.output)")
            #expect(
                r.output == "error: control socket \(sock): another server is already listening there\n", "\(r.output)")
            #expect((try? TestSocket.connect(port: other, timeoutSeconds: 1)) == nil)
        }
        #expect(try curl(["http://127.0.0.1:\(port)/still"]).output == "b /still")
        #expect(first.stop() == 0, "\(first.output)")
    }

    /// Another user's directory for the socket (here: nobody's, mode 0777) was used as it was; a swapped socket then
    /// made `skiff stop` print "stopping" while the daemon ran on. Refused now, as is any directory others may write
    /// to; the default directory is created 0700.
    @Test(.enabled(if: runningAsRoot, "needs root to make a directory of another user"))
    func unsafeSocketDirectoriesAreRefused() throws {
        let port = freePort()
        let path = try writeTempFile(controlTestConfig(port: port, backend: freePort()))
        defer { unlink(path) }
        let dir = makeTempDirectory("sockdir")
        defer { removeTree(dir) }
        chmod(dir, 0o777)
        chown(dir, otherUID, otherUID)
        let foreign = try SkiffProcess.run(
            ["start", "-c", path, "--control-socket", dir + "/skiff.sock"], timeoutSeconds: 10)
        #expect(foreign.status == 1, "\(foreign.output)")
        #expect(
            foreign.output.hasPrefix(
                "error: control socket \(dir)/skiff.sock: directory \(dir) belongs to uid \(otherUID), not to you (uid 0) or root"
            ),
            "\(foreign.output)")
        #expect((try? TestSocket.connect(port: port, timeoutSeconds: 1)) == nil)

        chown(dir, 0, 0)
        let open = try SkiffProcess.run(
            ["start", "-c", path, "--control-socket", dir + "/skiff.sock"], timeoutSeconds: 10)
        #expect(open.status == 1, "\(open.output)")
        #expect(open.output.contains("directory \(dir) is writable by other users (mode 0777)"), "\(open.output)")

        // The default path ($XDG_RUNTIME_DIR/skiff/skiff.sock): an existing directory of another user is refused; a
        // missing one is created 0700.
        chmod(dir, 0o700)
        mkdir(dir + "/skiff", 0o755)
        chown(dir + "/skiff", otherUID, otherUID)
        let xdgForeign = try SkiffProcess(
            executable: SkiffProcess.binaryPath, ["start", "-c", path], environment: ["XDG_RUNTIME_DIR": dir])
        #expect(xdgForeign.waitForExit(seconds: 10) == 1, "\(xdgForeign.output)")
        #expect(xdgForeign.output.contains("directory \(dir)/skiff belongs to uid \(otherUID)"), "\(xdgForeign.output)")
        rmdir(dir + "/skiff")
        let xdg = try SkiffProcess(
            executable: SkiffProcess.binaryPath, ["start", "-c", path], environment: ["XDG_RUNTIME_DIR": dir])
        defer { xdg.stop() }
        #expect(xdg.waitForOutput("started"), "\(xdg.output)")
        var st = stat()
        #expect(stat(dir + "/skiff", &st) == 0 && st.st_mode & 0o777 == 0o700 && st.st_uid == 0)
        #expect(xdg.stop() == 0)
    }

    /// A socket served by another user (a fake "skiff" answering every request with success) fooled `skiff stop`,
    /// which printed "stopping". `ctl`, `stop`, `reload` and `top` now refuse a server that is neither our uid nor
    /// root, and send it nothing.
    @Test(.enabled(if: runningAsRoot, "needs root to run a server as another user"))
    func clientsRefuseAServerOfAnotherUser() throws {
        let dir = makeTempDirectory("impostor")
        defer { removeTree(dir) }
        chmod(dir, 0o777)
        let sock = dir + "/skiff.sock"
        let (impostor, script) = try startPython(
            """
            import os, socket, sys, time
            os.setuid(\(otherUID))
            s = socket.socket(socket.AF_UNIX)
            s.bind(sys.argv[1]); s.listen(16); s.settimeout(0.5)
            t = time.time()
            while time.time() - t < 30:
                try:
                    c, _ = s.accept()
                except socket.timeout:
                    continue
                c.settimeout(2)
                try:
                    if c.recv(4096):
                        print("GOT A REQUEST", flush=True)
                        c.sendall(b'{"id":1,"ok":true,"stopping":true,"changes":[],"restart_needed":[],"clusters":[]}\\n')
                except Exception:
                    pass
                c.close()
            """, [sock])
        defer {
            impostor.kill()
            unlink(script)
        }
        #expect(waitUntil(seconds: 10) { access(sock, F_OK) == 0 })
        for args in [["stop"], ["reload"], ["ctl", "hosts"], ["ctl", "drain", "c", "h"], ["top"]] {
            let r = try SkiffProcess.run(args + ["--socket", sock], timeoutSeconds: 20)
            #expect(r.status == 1, "\(args): \(r.output)")
            #expect(
                r.output.contains("refusing to talk to \(sock): it is served by uid \(otherUID)"),
                "\(args): \(r.output)")
            #expect(!r.output.contains("stopping"), "\(args): \(r.output)")
        }
        #expect(!impostor.output.contains("GOT A REQUEST"), "\(impostor.output)")
    }

    /// `skiff ctl`, `reload` and `stop` waited for ever on a socket that accepts and never answers. They give up
    /// after --answer-timeout (5 s by default) with exit 2 and a message naming the socket; so does a server whose
    /// backlog is full (the connect itself waits).
    @Test func cliGivesUpOnASocketThatNeverAnswers() throws {
        let sock = "/tmp/skiff-test-\(getpid())-mute-\(UInt32.random(in: 0...UInt32.max)).sock"
        let (mute, script) = try startPython(
            """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX)
            s.bind(sys.argv[1]); s.listen(64); s.settimeout(0.2)
            held = []
            t = time.time()
            while time.time() - t < 60:
                try:
                    c, _ = s.accept()
                    held.append(c)
                except socket.timeout:
                    pass
            """, [sock])
        defer {
            mute.kill()
            unlink(script)
            unlink(sock)
        }
        #expect(waitUntil(seconds: 10) { access(sock, F_OK) == 0 })
        for args in [
            ["ctl", "hosts"], ["ctl", "events"], ["reload"], ["stop"], ["ctl", "drain", "c", "h", "--wait"],
        ] {
            let t0 = Double(ControlClientClock.nowNs()) / 1e9
            let r = try SkiffProcess.run(args + ["--socket", sock, "--answer-timeout", "1s"], timeoutSeconds: 20)
            let took = Double(ControlClientClock.nowNs()) / 1e9 - t0
            #expect(r.status == 2, "\(args): \(r.output)")
            #expect(r.output.contains("error: no answer from skiff at \(sock) within 1s"), "\(args): \(r.output)")
            #expect(took < 8, "\(args) took \(took) s")
        }
        // The default: 5 s.
        let t0 = Double(ControlClientClock.nowNs()) / 1e9
        let r = try SkiffProcess.run(["ctl", "stats", "--socket", sock], timeoutSeconds: 30)
        let took = Double(ControlClientClock.nowNs()) / 1e9 - t0
        #expect(r.status == 2, "\(r.output)")
        #expect(r.output.contains("within 5s"), "\(r.output)")
        #expect(took >= 4.5 && took < 15, "took \(took) s")

        // A server that never accepts, its backlog full: the connect itself gives up.
        let full = sock + ".full"
        let (stuck, stuckScript) = try startPython(
            """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX)
            s.bind(sys.argv[1]); s.listen(0)
            fillers = []
            for _ in range(4):
                c = socket.socket(socket.AF_UNIX); c.setblocking(False)
                try:
                    c.connect(sys.argv[1])
                except OSError:
                    pass
                fillers.append(c)
            print("full", flush=True)
            time.sleep(60)
            """, [full])
        defer {
            stuck.kill()
            unlink(stuckScript)
            unlink(full)
        }
        #expect(stuck.waitForOutput("full"), "\(stuck.output)")
        let blocked = try SkiffProcess.run(
            ["ctl", "hosts", "--socket", full, "--answer-timeout", "1s"], timeoutSeconds: 20)
        #expect(blocked.status == 2, "\(blocked.output)")
        #expect(
            blocked.output.contains(
                "no answer from skiff at \(full) within 1s (waiting for it to accept the connection"),
            "\(blocked.output)")

        let bad = try SkiffProcess.run(["ctl", "stats", "--socket", sock, "--answer-timeout", "0s"])
        #expect(bad.status == 1)
        #expect(bad.output.contains("error: --answer-timeout: expected a duration from 1ms to 1h"), "\(bad.output)")
    }

    /// A FIFO given as the config file hung `validate` (and `start`, and a reload in the daemon: the control
    /// client's thread, or the main thread for SIGHUP). Refused at once now, everywhere.
    @Test func fifoConfigIsRefusedEverywhere() throws {
        let fifo = "/tmp/skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let expected = "error: config file \"\(fifo)\": not a regular file (a FIFO); give the path of a config file"
        let validate = try SkiffProcess.run(["validate", "-c", fifo], timeoutSeconds: 10)
        #expect(validate.status == 1)
        #expect(validate.output.contains(expected), "\(validate.output)")
        let start = try SkiffProcess.run(["start", "-c", fifo], timeoutSeconds: 10)
        #expect(start.status == 1)
        #expect(start.output.contains(expected), "\(start.output)")

        // A running skiff whose config file is replaced by a FIFO: `skiff reload` and SIGHUP are refused with that
        // message, the running config stays and the daemon answers on.
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let dir = makeTempDirectory("fifo")
        defer { removeTree(dir) }
        let config = dir + "/skiff.json"
        try overwrite(config, controlTestConfig(port: port, backend: backend.port))
        let sock = dir + "/skiff.sock"
        let p = try SkiffProcess(["start", "-c", config, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        unlink(config)
        #expect(mkfifo(config, 0o600) == 0)
        let reload = try SkiffProcess.run(["reload", "--socket", sock], timeoutSeconds: 20)
        #expect(reload.status == 1, "\(reload.output)")
        #expect(reload.output.contains("not a regular file (a FIFO)"), "\(reload.output)")
        p.signal(SIGHUP)
        #expect(p.waitForOutput("SIGHUP: reload refused"), "\(p.output)")
        #expect(try curl(["http://127.0.0.1:\(port)/after"]).output == "b /after")
        let hosts = try SkiffProcess.run(["ctl", "hosts", "--socket", sock], timeoutSeconds: 20)
        #expect(hosts.status == 0, "\(hosts.output)")
        #expect(p.stop() == 0, "\(p.output)")
    }
}

/// Monotonic seconds for timing CLI runs.
enum ControlClientClock {
    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
