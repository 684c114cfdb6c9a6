import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// A config with one tcp_proxy listener per thread model, in front of `backends`.
func tcpConfig(netpollPort: Int, rwloopPort: Int, backends: [Int], extraListener: String = "") -> String {
    let hosts = backends.map { "{\"address\": \"127.0.0.1:\($0)\"}" }.joined(separator: ", ")
    return """
        {
          "servers": [{
            "default_log_path": "stdout",
            "listeners": [
              {"name": "tcp_netpoll", "address": "127.0.0.1:\(netpollPort)", "bind_port": true,
               "thread_model": "netpoll", "pollers": 2,
               "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "echo"}}]}]},
              {"name": "tcp_rwloop", "address": "127.0.0.1:\(rwloopPort)", "bind_port": true,
               "thread_model": "rwloop",
               "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "echo"}}]}]}\(extraListener)
            ]
          }],
          "cluster_manager": {"clusters": [
            {"name": "echo", "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN", "connect_timeout": "2s", "hosts": [\(hosts)]}
          ]}
        }
        """
}

/// Sends `data` through 127.0.0.1:`port` and checks the echo, streaming both ways at once.
func checkEcho(port: Int, bytes: Int, seed: UInt64) throws -> Bool {
    let s = try TestSocket.connect(port: port, timeoutSeconds: 60)
    defer { s.close() }
    let data = patternBytes(count: bytes, seed: seed)
    let failed = Atomic<Bool>(false)
    try NetThread.start(name: "e2e-send", stackSize: 512 * 1024) {
        do {
            try s.send(data)
            s.shutdownWrite()
        } catch { failed.store(true, ordering: .relaxed) }
    }
    let got = try s.receiveToEOF(limit: bytes + 1)
    return !failed.load(ordering: .relaxed) && got == data
}

@Suite(.serialized) struct TCPProxyBinaryTests {
    @Test func validatePrintsOkAndSummaryForShippedConfigs() throws {
        // MOSN's samples carry fields MOSN itself ignores or acts on differently: each is named in one warning line.
        let expectedWarnings = [
            "tcp_proxy.json": [], "grpc.json": [], "mosn_tcp_sample.json": ["servers[0].listeners[0].log_path"],
            "mosn_http_sample.json": [], "mosn_bolt_sample.json": [],
            "mosn_dubbo_client_sample.json": ["servers[0].listeners[0].log_path"],
            "mosn_dubbo_server_sample.json": ["servers[0].listeners[0].log_path"],
            "mosn_slow_start_sample.json": ["cluster_manager.clusters[0].health_check.check_config.http_check_config"],
            "mosn_old_form.json": [
                "servers[0].listeners[0].log_path", "cluster_manager.clusters[0].health_check.service_name",
                "cluster_manager.clusters[0].hosts[0].metadata", "cluster_manager.clusters[1].health_check.service_name",
            ],
        ]
        for (name, warned) in expectedWarnings {
            let r = try SkiffProcess.run(["validate", "-c", "\(SkiffProcess.packageRoot)/configs/\(name)"])
            #expect(r.status == 0, "\(name): \(r.output)")
            let lines = r.output.split(separator: "\n").map(String.init)
            #expect(lines.last?.hasPrefix("ok: ") == true, "\(name): \(r.output)")
            let warnings = lines.dropLast().map { $0.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? $0 }
            #expect(warnings == warned, "\(name): \(r.output)")
        }
        let r = try SkiffProcess.run(["validate", "-c", "\(SkiffProcess.packageRoot)/configs/tcp_proxy.json"])
        #expect(r.output.contains("2 listeners (netpoll 1, rwloop 1), 1 cluster, 2 hosts"), "\(r.output)")
    }

    @Test func validateRefusesABadConfigWithItsPath() throws {
        let bad = tcpConfig(netpollPort: 99999, rwloopPort: 1, backends: [1])
        let path = try writeTempFile(bad)
        defer { unlink(path) }
        let r = try SkiffProcess.run(["validate", "-c", path])
        #expect(r.status == 1)
        #expect(r.output.contains("servers[0].listeners[0].address"), "\(r.output)")
        let missing = try SkiffProcess.run(["validate", "-c", "/nonexistent/skiff.json"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("/nonexistent/skiff.json"), "\(missing.output)")
    }

    @Test func versionAndHelp() throws {
        let v = try SkiffProcess.run(["--version"])
        #expect(v.status == 0)
        #expect(v.output.contains("0."))
        let h = try SkiffProcess.run(["start", "--help"])
        #expect(h.status == 0)
        #expect(h.output.contains("--thread-model"))
    }

    /// The real binary proxies on both thread models at once; a 100 MB transfer through each is byte-exact;
    /// SIGTERM stops it with exit 0.
    @Test func proxiesOnBothModelsAndStopsOnSIGTERM() throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let np = freePort()
        let rw = freePort()
        let path = try writeTempFile(tcpConfig(netpollPort: np, rwloopPort: rw, backends: [echo.port]))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(p.output.contains("listener tcp_netpoll on 127.0.0.1:\(np) thread_model=netpoll"), "\(p.output)")
        #expect(p.output.contains("listener tcp_rwloop on 127.0.0.1:\(rw) thread_model=rwloop"), "\(p.output)")
        for port in [np, rw] {
            #expect(try checkEcho(port: port, bytes: 1000, seed: 1))
            #expect(try checkEcho(port: port, bytes: 100 << 20, seed: UInt64(port)))
        }
        #expect(p.stop() == 0, "\(p.output)")
        #expect(p.output.contains("stopped"))
    }

    @Test func threadModelOverrideAppliesToEveryListener() throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let np = freePort()
        let rw = freePort()
        let path = try writeTempFile(tcpConfig(netpollPort: np, rwloopPort: rw, backends: [echo.port]))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--thread-model", "rwloop"])
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(p.output.contains("listener tcp_netpoll on 127.0.0.1:\(np) thread_model=rwloop"), "\(p.output)")
        #expect(try checkEcho(port: np, bytes: 5000, seed: 2))
        #expect(p.stop() == 0)
    }

    /// A port already taken: one clear line, exit 1, and the other listener is not left listening.
    @Test func portInUseFailsCleanly() throws {
        let taken = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: false)
        defer { close(taken) }
        let takenPort = Socket.localAddress(taken)!.port
        let np = freePort()
        let path = try writeTempFile(tcpConfig(netpollPort: np, rwloopPort: takenPort, backends: [1]))
        defer { unlink(path) }
        let r = try SkiffProcess.run(["start", "-c", path])
        #expect(r.status == 1)
        #expect(r.output.contains("servers[0].listeners[1].address: cannot listen on 127.0.0.1:\(takenPort)"), "\(r.output)")
        #expect(r.output.contains("Address already in use"), "\(r.output)")
        // Nothing half-started: the first listener's port is free again.
        #expect((try? TestSocket.connect(port: np)) == nil)
    }
}
