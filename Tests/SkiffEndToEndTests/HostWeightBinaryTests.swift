import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

/// A weighted round-robin cluster of two HTTP hosts with the admin API, for the weight tests.
func weightTestConfig(port: Int, admin: Int, hosts: [Int]) -> String {
    let list = hosts.map { "{\"address\":\"127.0.0.1:\($0)\",\"weight\":1}" }.joined(separator: ",")
    return """
        {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
          {"match":{"prefix":"/"},"route":{"cluster_name":"c","timeout":"10s"}}]}]}],
         "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
           "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
         "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_WEIGHTED_ROUNDROBIN","hosts":[\(list)]}]},
         "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
        """
}

/// Two HTTP hosts behind a running skiff with `weightTestConfig`, and keep-alive load when asked (`startLoad`):
/// what the weight and details tests start with. `stop()` ends the load, then skiff, then the hosts.
final class WeightDaemon {
    let hosts: [HTTPTestServer]
    let port = freePort()
    let admin = freePort()
    let sock: String
    let process: SkiffProcess
    let configPath: String
    private(set) var clients: [LoadClient] = []
    var h1: String { "127.0.0.1:\(hosts[0].port)" }
    var h2: String { "127.0.0.1:\(hosts[1].port)" }

    init(tag: String, publishIntervalMs: Int? = 200) throws {
        hosts = try (1...2).map { try HTTPTestServer(name: "\(tag.prefix(1))\($0)") }
        sock = "/tmp/skiff-test-\(getpid())-\(tag)-\(port).sock"
        configPath = try writeTempFile(weightTestConfig(port: port, admin: admin, hosts: hosts.map(\.port)))
        var args = ["start", "-c", configPath, "--control-socket", sock]
        if let ms = publishIntervalMs { args += ["--publish-interval", "\(ms)"] }
        process = try SkiffProcess(args)
    }

    /// Starts `count` keep-alive clients sending `path`.
    func startLoad(clients count: Int, path: String) throws {
        let started = (0..<count).map { _ in LoadClient() }
        clients += started
        let port = self.port
        for c in started { try NetThread.start(name: "load", stackSize: 1 << 20) { c.run(port: port, path: path) } }
    }

    func stop() {
        for c in clients { c.stop.store(true, ordering: .relaxed) }
        _ = waitUntil(seconds: 10) { self.clients.allSatisfy { $0.finished.load(ordering: .relaxed) } }
        process.stop()
        unlink(configPath)
        for h in hosts { h.stop() }
    }
}

/// Run-time weights (issue 15, host actions): `skiff ctl weight` and `POST /api/v1/hosts/C/H/weight` change where
/// requests go, under load, at once; bad weights are refused with a reason; each change is a `host.weight` event.
@Suite(.serialized) struct HostWeightBinaryTests {
    /// Requests each host answered on `path` while `seconds` of load ran (the load is already running).
    func window(_ hosts: [HTTPTestServer], _ path: String, seconds: Double) -> [Int] {
        let before = hosts.map { $0.count(path: path) }
        usleep(UInt32(seconds * 1_000_000))
        return zip(hosts, before).map { $0.count(path: path) - $1 }
    }

    @Test func weightChangesTheRequestDistribution() throws {
        let d = try WeightDaemon(tag: "weight")
        defer { d.stop() }
        #expect(d.process.waitForOutput("started"), "\(d.process.output)")
        let (hosts, admin, sock, h1, h2) = (d.hosts, d.admin, d.sock, d.h1, d.h2)
        try d.startLoad(clients: 4, path: "/w")
        usleep(300_000)

        // 1:1 from the config.
        let even = window(hosts, "/w", seconds: 1)
        #expect(even[0] > 50 && even[1] > 50, "\(even)")
        #expect(Double(even[1]) / Double(even[0]) > 0.8 && Double(even[1]) / Double(even[0]) < 1.25, "\(even)")

        // skiff ctl weight: 1:3.
        let set = try SkiffProcess.run(["ctl", "weight", "c", h2, "3", "--socket", sock])
        #expect(set.status == 0, "\(set.output)")
        #expect(set.output.contains("c/\(h2): weight 1 -> 3"), "\(set.output)")
        usleep(200_000)
        let heavy = window(hosts, "/w", seconds: 1)
        let ratio = Double(heavy[1]) / Double(max(1, heavy[0]))
        #expect(ratio > 2.5 && ratio < 3.5, "after weight 3: \(heavy)")
        let listed = try SkiffProcess.run(["ctl", "hosts", "--json", "--socket", sock])
        #expect(listed.output.contains(#""address":"\#(h2)","weight":3"#), "\(listed.output)")

        // The admin API: weight 0 takes h1 out of new picks; requests keep succeeding on h2.
        let zero = try adminRequest(admin, "POST", "/api/v1/hosts/c/\(h1)/weight", body: #"{"weight":0}"#)
        #expect(zero.status == 200, "\(zero)")
        #expect(zero.body.contains(#""from":1"#) && zero.body.contains(#""weight":0"#), "\(zero.body)")
        usleep(200_000)
        let only = window(hosts, "/w", seconds: 1)
        #expect(only[0] == 0 && only[1] > 50, "after weight 0 on h1: \(only)")

        // And back.
        #expect(try adminRequest(admin, "POST", "/api/v1/hosts/c/\(h1)/weight", body: "3").status == 200)
        usleep(200_000)
        let back = window(hosts, "/w", seconds: 1)
        #expect(back[0] > 50 && back[1] > 50, "\(back)")

        let clients = d.clients
        let errors = clients.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let first = clients.compactMap { $0.firstError.withLock { $0 } }.first ?? ""
        #expect(errors == 0, "\(errors) client errors; first: \(first)")

        // Every change recorded with who and how.
        let events = try SkiffProcess.run(["ctl", "events", "--kind", "host.weight", "--socket", sock])
        #expect(events.output.contains("host=\(h2) from=1 to=3 uid=\(getuid()) via=control socket"), "\(events.output)")
        #expect(events.output.contains("host=\(h1) from=1 to=0"), "\(events.output)")
        #expect(events.output.contains("via=admin http 127.0.0.1:"), "\(events.output)")
    }

    /// Out-of-range or non-numeric weights and unknown hosts are refused with the reason; nothing changes.
    @Test func badWeightsAreRefused() throws {
        let d = try WeightDaemon(tag: "weightbad", publishIntervalMs: nil)
        defer { d.stop() }
        #expect(d.process.waitForOutput("started"), "\(d.process.output)")
        let (admin, sock, h1) = (d.admin, d.sock, d.h1)

        for bad in ["129", "1.5", "two"] {
            let r = try SkiffProcess.run(["ctl", "weight", "c", h1, bad, "--socket", sock])
            #expect(r.status == 1, "\(bad): \(r.output)")
            #expect(r.output.contains("weight must be an integer from 0 to 128"), "\(r.output)")
        }
        let unknown = try SkiffProcess.run(["ctl", "weight", "c", "127.0.0.1:1", "2", "--socket", sock])
        #expect(unknown.status == 1 && unknown.output.contains("no host 127.0.0.1:1 in cluster c"), "\(unknown.output)")
        // The socket checks too (another client than ours).
        let raw = try SkiffProcess.runCommand(
            "python3",
            ["-c", """
                import socket,sys
                s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
                s.sendall(b'{"id":1,"cmd":"host.set_weight","cluster":"c","host":"\(h1)","weight":1000}\\n')
                print(s.makefile().readline())
                """, sock])
        #expect(raw.output.contains("weight must be an integer from 0 to 128"), "\(raw.output)")
        for body in ["abc", #"{"weight":"2"}"#, #"{"w":2}"#, "999"] {
            let r = try adminRequest(admin, "POST", "/api/v1/hosts/c/\(h1)/weight", body: body)
            #expect(r.status == 400, "\(body): \(r)")
        }
        let hostsReply = try SkiffProcess.run(["ctl", "hosts", "--json", "--socket", sock])
        #expect(hostsReply.output.contains(#""address":"\#(h1)","weight":1"#), "\(hostsReply.output)")
        let events = try SkiffProcess.run(["ctl", "events", "--kind", "host.weight", "--socket", sock])
        #expect(!events.output.contains("host.weight"), "\(events.output)")
    }
}
