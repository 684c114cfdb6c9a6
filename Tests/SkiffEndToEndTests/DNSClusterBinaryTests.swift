import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

/// STRICT_DNS and LOGICAL_DNS clusters through the real binary (issue 20), against dnsmasq (Debian's) on a loopback
/// port serving a hosts file the test changes: a new address becomes a host within a refresh, a host that stays keeps
/// serving, and a resolver that stops answering leaves the last answer in place, counted in `/metrics`. The backends
/// are Python's http.server on 127.0.0.2 and 127.0.0.3, one port.
@Suite(.serialized) struct DNSClusterBinaryTests {
    /// dnsmasq on 127.0.0.1:`port` answering from `hostsFile` only (re-read on SIGHUP).
    static func startDnsmasq(port: Int, hostsFile: String) throws -> SkiffProcess {
        let user = getuid() == 0 ? ["--user=root"] : []
        return try SkiffProcess(
            executable: "/usr/sbin/dnsmasq",
            ["-k", "--conf-file=/dev/null", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces",
             "--no-resolv", "--no-hosts", "--addn-hosts=\(hostsFile)", "--pid-file=", "--log-facility=-"] + user)
    }

    /// `python3 -m http.server` on `ip:port` serving `dir`.
    static func startBackend(ip: String, port: Int, dir: String) throws -> SkiffProcess {
        try SkiffProcess(executable: systemPython, ["-m", "http.server", "\(port)", "--bind", ip, "--directory", dir])
    }

    /// Backends "two" on 127.0.0.2 and "three" on 127.0.0.3, both on `port`, each serving its name as `/who`.
    static func startBackends(port: Int, dir: String) throws -> [SkiffProcess] {
        var backends: [SkiffProcess] = []
        for (ip, who) in [("127.0.0.2", "two"), ("127.0.0.3", "three")] {
            mkdir(dir + "/" + who, 0o755)
            try overwrite(dir + "/\(who)/who", who)
            backends.append(try startBackend(ip: ip, port: port, dir: dir + "/" + who))
        }
        return backends
    }

    static func config(port: Int, admin: Int, dnsPort: Int, backendPort: Int, type: String) -> String {
        """
        {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
          {"match":{"prefix":"/"},"route":{"cluster_name":"svc"}}]}]}],
         "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
           "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
         "cluster_manager":{"clusters":[{"name":"svc","type":"\(type)","lb_type":"LB_ROUNDROBIN",
           "dns_refresh_rate":"300ms","dns_resolvers":{"servers":["127.0.0.1:\(dnsPort)"],"timeout":1,"attempts":1},
           "hosts":[{"address":"backend.test:\(backendPort)"}]}]},
         "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
        """
    }

    /// Which backends (by the `who` file they serve) answered `n` requests.
    func answers(_ port: Int, _ n: Int) throws -> [String: Int] {
        let client = try AccessLogSupport.KeepAlive(port: port)
        var seen: [String: Int] = [:]
        for _ in 0..<n {
            let r = try client.get("/who")
            seen[r.status == 200 ? String(decoding: r.body, as: UTF8.self) : "status \(r.status)", default: 0] += 1
        }
        return seen
    }

    func metric(_ admin: Int, _ name: String) throws -> Int {
        let text = try adminRequest(admin, "GET", "/metrics").body
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + "{cluster=\"svc\"}") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
    }

    @Test(
        .enabled(if: access("/usr/sbin/dnsmasq", X_OK) == 0, "needs dnsmasq (Debian dnsmasq-base)"),
        arguments: ["STRICT_DNS", "LOGICAL_DNS"])
    func answersBecomeHostsAndAnOutageKeepsTheLast(type: String) throws {
        let dir = makeTempDirectory("dns")
        defer { removeTree(dir) }
        chmod(dir, 0o755)
        let hostsFile = dir + "/hosts"
        try overwrite(hostsFile, "127.0.0.2 backend.test\n")
        chmod(hostsFile, 0o644)
        let (dnsPort, backendPort, port, admin) = (freePort(), freePort(), freePort(), freePort())
        let backends = try Self.startBackends(port: backendPort, dir: dir)
        defer { for b in backends { b.stop() } }
        let dnsmasq = try Self.startDnsmasq(port: dnsPort, hostsFile: hostsFile)
        var dnsmasqStopped = false
        defer { if !dnsmasqStopped { dnsmasq.stop() } }
        #expect(dnsmasq.waitForOutput("read \(hostsFile)"), "\(dnsmasq.output)")
        #expect(waitUntil(seconds: 10) { (try? TestSocket.connect(port: backendPort, host: "127.0.0.3")).map { $0.close(); return true } ?? false })

        let path = try writeTempFile(
            Self.config(port: port, admin: admin, dnsPort: dnsPort, backendPort: backendPort, type: type))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        // Resolved at start: the one address. On a loaded machine the first query may miss its 1 s timeout; the
        // next refresh (300 ms) brings it, so the answers are waited for rather than read once.
        #expect(waitUntil(seconds: 10) { (try? answers(port, 10)) == ["two": 10] }, "\((try? answers(port, 10)) ?? [:])")

        // A second address: a host of its own within a refresh (STRICT_DNS); LOGICAL_DNS keeps the first.
        try overwrite(hostsFile, "127.0.0.2 backend.test\n127.0.0.3 backend.test\n")
        dnsmasq.signal(SIGHUP)
        if type == "STRICT_DNS" {
            #expect(waitUntil(seconds: 10) { (try? answers(port, 10)) == ["two": 5, "three": 5] })
        } else {
            usleep(1_000_000)
            #expect(try answers(port, 10).keys.count == 1)
        }

        // The resolver goes away: failures are counted, the last answer keeps serving.
        dnsmasq.stop()
        dnsmasqStopped = true
        let before = try metric(admin, "upstream_dns_resolution_failure_total")
        #expect(waitUntil(seconds: 10) { ((try? metric(admin, "upstream_dns_resolution_failure_total")) ?? 0) > before })
        let served = try answers(port, 10)
        #expect(served.values.reduce(0, +) == 10 && served.keys.allSatisfy { $0 == "two" || $0 == "three" }, "\(served)")
        #expect(try metric(admin, "upstream_dns_resolution_total") > 2)
        #expect(p.output.contains("keeping the last answer"), "\(p.output.suffix(600))")
    }

    /// A resolver that never answers: the cluster starts with no hosts (requests get 503, the failure is logged), and
    /// stopping skiff does not wait out a query in flight (the DNS client gives up within 100 ms of the stop, where
    /// the query's own timeout is 5 s).
    @Test func aSilentResolverNeitherBlocksServingNorStopping() throws {
        let dnsPort = freePort()
        let silent = try startPython(
            "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                + "s.bind(('127.0.0.1', \(dnsPort)))\nprint('bound', flush=True)\ntime.sleep(3600)\n")
        defer {
            silent.process.stop()
            unlink(silent.scriptPath)
        }
        #expect(silent.process.waitForOutput("bound"))
        let (port, admin) = (freePort(), freePort())
        let config = Self.config(port: port, admin: admin, dnsPort: dnsPort, backendPort: 8080, type: "STRICT_DNS")
            .replacing(#""timeout":1,"attempts":1"#, with: #""timeout":5,"attempts":1"#)
            .replacing(#""dns_refresh_rate":"300ms""#, with: #""dns_refresh_rate":"100ms""#)
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        #expect(p.waitForOutput("started", seconds: 30), "\(p.output)")
        #expect(p.output.contains("no answer from any server"), "\(p.output.suffix(400))")
        #expect(try answers(port, 2) == ["status 503": 2])
        usleep(500_000)  // the skiff-dns thread is inside its next 5 s query now
        let t0 = MonotonicClock.now()
        #expect(p.stop() == 0)
        let tookMs = (MonotonicClock.now() - t0) / 1_000_000
        #expect(tookMs < 2_500, "stopping took \(tookMs) ms")
    }

    /// MOSN's hostname hosts in a SIMPLE cluster: asked of the system resolver (here /etc/hosts, made private to
    /// skiff with a mount namespace and a bind mount of a file the test rewrites; no DNS server behind it) on the
    /// resolver thread, again every `dns_refresh_rate`; a name that stops resolving keeps its last address, counted.
    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/unshare", X_OK) == 0, "needs root and unshare"))
    func simpleClusterHostnamesAreAskedAgain() throws {
        let dir = makeTempDirectory("hostnames")
        defer { removeTree(dir) }
        chmod(dir, 0o755)
        let hostsFile = dir + "/hosts"
        try overwrite(hostsFile, "127.0.0.1 localhost\n127.0.0.2 backend.skiff.test\n")
        chmod(hostsFile, 0o644)
        // No DNS server behind the hosts file: a loopback address nothing listens on, refused at once.
        let resolvConf = dir + "/resolv.conf"
        try overwrite(resolvConf, "nameserver 127.0.0.254\noptions timeout:1 attempts:1\n")
        chmod(resolvConf, 0o644)
        let (backendPort, port, admin) = (freePort(), freePort(), freePort())
        let backends = try Self.startBackends(port: backendPort, dir: dir)
        defer { for b in backends { b.stop() } }
        #expect(waitUntil(seconds: 10) { (try? TestSocket.connect(port: backendPort, host: "127.0.0.3")).map { $0.close(); return true } ?? false })
        let config = Self.config(port: port, admin: admin, dnsPort: 53, backendPort: backendPort, type: "SIMPLE")
            .replacing(#""dns_resolvers":{"servers":["127.0.0.1:53"],"timeout":1,"attempts":1},"#, with: "")
            .replacing("backend.test", with: "backend.skiff.test")
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let script = "mount --bind \(hostsFile) /etc/hosts && mount --bind \(resolvConf) /etc/resolv.conf && exec \(SkiffProcess.binaryPath) start -c \(path) "
            + "--control-socket \(dir)/s.sock"
        let p = try SkiffProcess(executable: "/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(try answers(port, 6) == ["two": 6])

        // The name moves: the new address within a refresh (300 ms here; MOSN's 15 s by default).
        try overwrite(hostsFile, "127.0.0.1 localhost\n127.0.0.3 backend.skiff.test\n")
        #expect(waitUntil(seconds: 10) { (try? answers(port, 4)) == ["three": 4] })

        // The name goes: failures counted, the last address keeps serving.
        try overwrite(hostsFile, "127.0.0.1 localhost\n")
        #expect(waitUntil(seconds: 10) { ((try? metric(admin, "upstream_dns_resolution_failure_total")) ?? 0) > 0 })
        #expect(try answers(port, 4) == ["three": 4])
        #expect(try metric(admin, "upstream_dns_resolution_total") > 2)
    }
}
