import ArgumentParser
import Glibc
import Logging
import SkiffConfig
import SkiffControl
import SkiffEngine
import SkiffNet

/// `skiff demo`: built-in backends and traffic on loopback, the proxy with a listener on each thread model, and the
/// console — everything a newcomer needs to see Skiff work, with no setup.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Skiff on built-in backends and traffic, and open the console (or print a summary with --headless).")

    @Flag(help: "No console: run for --duration and print a summary.") var headless = false
    @Option(help: "How long --headless runs (e.g. 10s).") var duration: String = "10s"
    @Option(help: "Requests per second the traffic generator aims at.") var rate: Int = 200
    @Option(help: "Show latency and write rates over this recent span (e.g. 10s, 1m).") var window = "10s"
    @Option(name: .customLong("control-socket"), help: "Control socket for `skiff top` (default: a temporary path).")
    var controlSocket: String?

    func run() throws {
        let windowMs = try parseWindow(window)
        let stop = try SignalStop()  // before any thread: SIGINT/SIGTERM end the run (console or headless)
        guard let runFor = DurationText.parse(duration), runFor > .zero, runFor <= .seconds(3600) else {
            printError("error: --duration: expected a duration from 1ms to 1h (e.g. 10s), got \"\(duration)\"")
            throw ExitCode(1)
        }
        guard (1...100_000).contains(rate) else {
            printError("error: --rate: must be from 1 to 100000 (requests per second), got \(rate)")
            throw ExitCode(1)
        }
        // With the console, lines are held while it owns the terminal and written out after it closes.
        let capture = ConsoleLogCapture()
        LoggingSystem.bootstrap { label in
            var h = LineLogHandler(capture: capture, label: label)
            h.logLevel = headless ? .notice : .critical
            return h
        }
        ignoreSIGPIPE()
        let web = try [
            DemoHTTPBackend(name: "web-1"),
            DemoHTTPBackend(name: "web-2-flaky", flapDown: 8, flapPeriod: 20),
            DemoHTTPBackend(name: "web-3-slow", delayMs: 20...120),
        ]
        let bolt = try DemoBoltBackend()
        let ports = (np: freeLoopbackPort(), rw: freeLoopbackPort(), rpc: freeLoopbackPort(), admin: freeLoopbackPort())
        let text = demoConfig(web: web.map(\.port), bolt: bolt.port, ports: ports)
        let cfg: SkiffConfiguration
        do {
            cfg = try ConfigDecoder.decode(text, source: "demo")
        } catch {
            printError("error: demo config: \(error)")
            throw ExitCode(1)
        }
        let logger = Logger(label: "skiff-demo")
        let engine: Engine
        do {
            engine = try Engine(
                config: cfg, logger: logger, version: SkiffVersion.string, configPath: "(built-in demo)",
                configText: Array(text.utf8))
            engine.publisher.intervalMs.store(1000, ordering: .relaxed)  // the console asks for its own rate
            try engine.start()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let control = EngineControl(engine: engine)
        let socketPath = controlSocket ?? "/tmp/skiff-demo-\(getpid()).sock"
        let cc = ControlServer.Configuration(path: socketPath)
        let server = ControlServer(configuration: cc, backend: control)
        do {
            try server.start()
        } catch {
            // The demo runs on without it; `skiff top` cannot attach.
            printError("warning: no control socket: \(error)")
        }
        let traffic = DemoTraffic()
        try traffic.start(httpPorts: [ports.np, ports.rw], boltPort: ports.rpc, rate: rate)

        if headless {
            print("skiff demo: listeners 127.0.0.1:\(ports.np) (netpoll, HTTP), :\(ports.rw) (rwloop, HTTP), :\(ports.rpc) (netpoll, Bolt)")
            print("control socket \(socketPath) (try: skiff top --socket \(socketPath))")
            let planned = Double(runFor.components.seconds) + Double(runFor.components.attoseconds) / 1e18
            let began = monotonicMs()
            while !stop.isRaised && Double(monotonicMs() - began) < min(planned, 3600) * 1000 { usleep(50_000) }
            let secs = Double(monotonicMs() - began) / 1000
            traffic.stop()
            printSummary(engine: engine, traffic: traffic, web: web, bolt: bolt, seconds: secs)
        } else {
            capture.beginCapture()
            runConsole(
                source: InProcessSource(engine: engine, control: control, logs: capture), readOnly: false,
                inProcess: false, windowMs: windowMs, shouldStop: { stop.isRaised })
            writeHeldLogLines(capture)
            traffic.stop()
        }
        server.stop()
        engine.stop()
        for b in web { b.stop() }
        bolt.stop()
    }

    private func printSummary(engine: Engine, traffic: DemoTraffic, web: [DemoHTTPBackend], bolt: DemoBoltBackend, seconds: Double) {
        let ok = traffic.ok.load(ordering: .relaxed)
        let errors = traffic.errors.load(ordering: .relaxed)
        print("ran \(format1(seconds)) s: \(ok) requests answered, \(errors) errors (\(format1(Double(ok) / max(seconds, 0.1))) req/s)")
        for l in engine.listeners {
            let s = l.listener.stats
            print("  listener \(l.name) (\(l.model.rawValue), \(l.protocolName)): \(s.accepted.load(ordering: .relaxed)) connections")
        }
        for b in web {
            print("  backend \(b.name): \(b.served.load(ordering: .relaxed)) requests")
        }
        print("  backend bolt-echo: \(bolt.served.load(ordering: .relaxed)) requests")
        for c in engine.clusters.clusters.values.sorted(by: { $0.name < $1.name }) {
            for h in c.hosts {
                print("  host \(c.name)/\(h): \(h.adminState) \(h.health.snapshot.text), \(h.stats.requestTotal.load(ordering: .relaxed)) requests")
            }
        }
    }
}

/// A port that was free a moment ago (the demo binds its listeners right after).
func freeLoopbackPort() -> Int {
    guard let fd = try? Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: false) else { return 0 }
    defer { close(fd) }
    return Socket.localAddress(fd)?.port ?? 0
}

/// The demo's MOSN-style config: two HTTP listeners (one per thread model) and a Bolt listener.
func demoConfig(web: [Int], bolt: Int, ports: (np: Int, rw: Int, rpc: Int, admin: Int)) -> String {
    let hosts = web.map { "{\"address\":\"127.0.0.1:\($0)\"}" }.joined(separator: ",")
    func http(_ name: String, _ port: Int, _ model: String) -> String {
        """
        {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)",
         "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"web"}}]}]}
        """
    }
    return """
        {"servers":[{
          "routers":[
            {"router_config_name":"web","virtual_hosts":[{"name":"demo","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"web","timeout":"5s",
                "retry_policy":{"retry_on":"connect-failure,reset,5xx","num_retries":1}}}]}]},
            {"router_config_name":"rpc","virtual_hosts":[{"name":"rpc","domains":["*"],"routers":[
              {"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"echo"}}]}]}],
          "listeners":[\(http("web_netpoll", ports.np, "netpoll")),\(http("web_rwloop", ports.rw, "rwloop")),
            {"name":"rpc_netpoll","address":"127.0.0.1:\(ports.rpc)","thread_model":"netpoll",
             "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"bolt","router_config_name":"rpc"}}]}]}]
        }],
        "cluster_manager":{"clusters":[
          {"name":"web","lb_type":"LB_ROUNDROBIN","connect_timeout":"1s","drain_timeout":"30s",
           "health_check":{"protocol":"Http1","timeout":"500ms","interval":"1s","interval_jitter":"200ms",
             "healthy_threshold":2,"unhealthy_threshold":2,"check_config":{"http_check_config":{"path":"/health"}}},
           "hosts":[\(hosts)]},
          {"name":"echo","lb_type":"LB_ROUNDROBIN","connect_timeout":"1s",
           "health_check":{"protocol":"bolt","timeout":"500ms","interval":"2s","healthy_threshold":1,"unhealthy_threshold":2},
           "hosts":[{"address":"127.0.0.1:\(bolt)"}]}]},
        "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(ports.admin)}}}}
        """
}
