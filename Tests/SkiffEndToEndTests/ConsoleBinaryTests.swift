import Glibc
import SkiffTestSupport
import Testing

/// Runs a command in a detached tmux session of the given size; returns the session name.
func tmuxStart(_ command: String, width: Int = 120, height: Int = 40) throws -> String {
    let name = "skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let r = try SkiffProcess.runCommand(
        "tmux", ["new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)", "NCURSES_NO_UTF8_ACS=1 \(command)"])
    guard r.status == 0 else { throw TestError("tmux: \(r.output)") }
    return name
}

func tmuxCapture(_ session: String) throws -> String {
    try SkiffProcess.runCommand("tmux", ["capture-pane", "-p", "-t", session]).output
}

func tmuxKeys(_ session: String, _ keys: String...) throws {
    _ = try SkiffProcess.runCommand("tmux", ["send-keys", "-t", session] + keys)
}

func tmuxKill(_ session: String) {
    _ = try? SkiffProcess.runCommand("tmux", ["kill-session", "-t", session])
}

@Suite(.serialized) struct ConsoleBinaryTests {
    /// `skiff demo --headless` runs the built-in backends and traffic through both thread models and prints a summary.
    @Test func demoHeadlessRunsTraffic() throws {
        let sock = "/tmp/skiff-test-\(getpid())-demo.sock"
        let r = try SkiffProcess.run(
            ["demo", "--headless", "--duration", "4s", "--rate", "100", "--control-socket", sock], timeoutSeconds: 60)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("requests answered"), "\(r.output)")
        #expect(r.output.contains("listener web_netpoll (netpoll, Http1)"), "\(r.output)")
        #expect(r.output.contains("listener web_rwloop (rwloop, Http1)"), "\(r.output)")
        #expect(r.output.contains("backend bolt-echo"), "\(r.output)")
        let answered = r.output.split(separator: "\n").first { $0.contains("requests answered") }
            .flatMap { $0.split(separator: " ").dropFirst(3).first }.flatMap { Int($0) } ?? 0
        #expect(answered > 100, "\(r.output)")
    }

    /// `skiff top` in a real terminal (tmux) attached to a headless daemon: numbers change, d then y drains the
    /// selected host (checked with `skiff ctl hosts`), q returns to the shell.
    @Test func topAttachesDrainsAndRestoresTheTerminal() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-top-\(port).sock"
        let cfg = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
             "listeners":[{"name":"web","address":"127.0.0.1:\(port)",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:\(backend.port)"}]}]}}
            """
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--publish-interval", "200"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let session = try tmuxStart("sh -c '\(SkiffProcess.binaryPath) top --socket \(sock); echo TOP-EXITED; sleep 30'")
        defer { tmuxKill(session) }
        #expect(waitUntil(seconds: 10) { ((try? tmuxCapture(session)) ?? "").contains("Overview") })
        for _ in 0..<30 { _ = try curl(["-s", "http://127.0.0.1:\(port)/x"]) }
        try tmuxKeys(session, "3")
        #expect(waitUntil(seconds: 10) { ((try? tmuxCapture(session)) ?? "").contains("127.0.0.1:\(backend.port)") },
                "\((try? tmuxCapture(session)) ?? "")")
        // Select the host row and drain it.
        try tmuxKeys(session, "Down")
        try tmuxKeys(session, "d")
        #expect(waitUntil(seconds: 5) { ((try? tmuxCapture(session)) ?? "").contains("y/n") }, "\((try? tmuxCapture(session)) ?? "")")
        try tmuxKeys(session, "y")
        // The cluster's only host: a second, explicit confirmation (capital Y).
        #expect(waitUntil(seconds: 5) { ((try? tmuxCapture(session)) ?? "").contains("LAST HOST") }, "\((try? tmuxCapture(session)) ?? "")")
        try tmuxKeys(session, "Y")
        #expect(waitUntil(seconds: 10) {
            ((try? SkiffProcess.run(["ctl", "hosts", "--json", "--socket", sock]).output) ?? "").contains(#""admin":"DRAIN"#)
        })
        try tmuxKeys(session, "q")
        #expect(waitUntil(seconds: 10) { ((try? tmuxCapture(session)) ?? "").contains("TOP-EXITED") },
                "\((try? tmuxCapture(session)) ?? "")")
    }
}
