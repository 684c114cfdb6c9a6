import Glibc
import SkiffTestSupport
import Testing

/// `health_check` with `"protocol": "grpc"`: Skiff calls `grpc.health.v1.Health/Check` on each host (grpcio's server
/// here) and SERVING keeps it healthy; NOT_SERVING, an unknown service (grpc-status 5) and a dead port mark it down.
@Suite(.serialized) struct GRPCHealthCheckBinaryTests {
    @Test func grpcHealthChecksJudgeEachHost() throws {
        let (grpc, port) = try HTTP2Peers.serve(HTTP2Peers.grpcScript)
        defer { grpc.stop() }
        let dir = makeTempDirectory("grpc-health")
        defer { removeTree(dir) }
        let admin = freePort()
        func cluster(_ name: String, service: String?, port: Int) -> String {
            let check = service.map { #","check_config":{"grpc_check_config":{"service_name":"\#($0)"}}"# } ?? ""
            return """
                {"name":"\(name)","connect_timeout":"1s","hosts":[{"address":"127.0.0.1:\(port)"}],
                 "health_check":{"protocol":"grpc","service_name":"\(name)","interval":"200ms","timeout":"1s",
                   "healthy_threshold":1,"unhealthy_threshold":1\(check)}}
                """
        }
        let listener = """
            {"name":"h2","address":"127.0.0.1:\(freePort())","filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r"}}]}]}
            """
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"whole"}}]}]}],"listeners":[\(listener)]}],
             "cluster_manager":{"clusters":[\(cluster("whole", service: nil, port: port)),
               \(cluster("echo", service: "echo", port: port)),\(cluster("broken", service: "broken", port: port)),
               \(cluster("unknown", service: "nobody", port: port)),\(cluster("dead", service: nil, port: freePort()))]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
        let (p, sock) = try AccessLogSupport.start(config, dir: dir)
        defer { p.stop() }
        func hosts() throws -> String {
            try SkiffProcess.run(["ctl", "hosts", "--socket", sock]).output
        }
        func healthy(_ cluster: String) throws -> Int? {
            let (_, body) = try adminRequest(admin, "GET", "/metrics")
            let line = body.split(separator: "\n").first {
                $0.hasPrefix("upstream_host_healthy{") && $0.contains(#"cluster="\#(cluster)""#)
            }
            return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
        }
        var settled = false
        for _ in 0..<50 {
            if try healthy("whole") == 1 && healthy("echo") == 1 && healthy("broken") == 0 && healthy("unknown") == 0
                && healthy("dead") == 0
            {
                settled = true
                break
            }
            usleep(200_000)
        }
        let table = try hosts()
        #expect(settled, "\(table)")
        #expect(table.contains("L7RSP NOT_SERVING"), "\(table)")
        #expect(table.contains("L7STS grpc-status 5"), "\(table)")
        #expect(table.contains("L4CON refused"), "\(table)")
    }
}
