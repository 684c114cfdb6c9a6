import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

/// Slow start through the real binary (issue 20): a host added by a reload starts with a fraction of its weight and
/// ramps to its full share over `slow_start_duration` under load; frames and the admin API show the ramp.
@Suite(.serialized) struct SlowStartBinaryTests {
    static func config(port: Int, admin: Int, hosts: [Int]) -> String {
        let list = hosts.map { "{\"address\":\"127.0.0.1:\($0)\",\"weight\":10}" }.joined(separator: ",")
        return """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
             "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_WEIGHTED_ROUNDROBIN",
               "slow_start":{"mode":"duration","slow_start_duration":"3s","aggression":1.0,"min_weight_percent":0.05},
               "hosts":[\(list)]}]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
    }

    @Test func aHostAddedByAReloadRampsUp() throws {
        let hosts = try (1...2).map { try HTTPTestServer(name: "r\($0)") }
        defer { for h in hosts { h.stop() } }
        let (port, admin) = (freePort(), freePort())
        let sock = "/tmp/skiff-test-\(getpid())-slowstart-\(port).sock"
        let path = try writeTempFile(Self.config(port: port, admin: admin, hosts: [hosts[0].port]))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--publish-interval", "200"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let clients = (0..<4).map { _ in LoadClient() }
        for c in clients { try NetThread.start(name: "load", stackSize: 1 << 20) { c.run(port: port, path: "/s") } }
        defer {
            for c in clients { c.stop.store(true, ordering: .relaxed) }
            _ = waitUntil(seconds: 10) { clients.allSatisfy { $0.finished.load(ordering: .relaxed) } }
        }
        // Every host of a new cluster starts its ramp at start, as in MOSN: let the first one's end (3 s) so the
        // second is the only one ramping.
        usleep(3_300_000)

        // Add the second host: new to the cluster, it ramps from max(1 s, t) / 3 s = 33% of its weight.
        let updated = Self.config(port: port, admin: admin, hosts: hosts.map(\.port))
        try overwrite(path, updated)
        let r = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r.status == 0, "\(r.output)")
        let addedAt = MonotonicClock.now()
        func window(_ seconds: Double) -> Double {
            let before = hosts.map { $0.count(path: "/s") }
            usleep(UInt32(seconds * 1_000_000))
            let d = zip(hosts, before).map { $0.count(path: "/s") - $1 }
            return Double(d[1]) / Double(max(1, d[0] + d[1]))
        }
        usleep(200_000)
        let early = window(0.6)  // a third of its weight in its first second: 0.33 / 1.33 = 25% of requests
        let clusters = try adminRequest(admin, "GET", "/api/v1/clusters").body
        #expect(clusters.contains("slow_start_percent"), "\(clusters.prefix(600))")
        let waited = Double(MonotonicClock.now() - addedAt) / 1e9
        usleep(UInt32(max(0, 3.4 - waited) * 1_000_000))
        let late = window(1.0)  // the ramp is over: an even split
        #expect(early > 0.1 && early < 0.38, "early share \(early)")
        #expect(late > 0.4 && late < 0.6, "late share \(late)")
        #expect(clients.allSatisfy { $0.errors.load(ordering: .relaxed) == 0 })
    }
}
