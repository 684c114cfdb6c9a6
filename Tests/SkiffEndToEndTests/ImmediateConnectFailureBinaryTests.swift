import Glibc
import SkiffTestSupport
import Testing

/// A connect the kernel refuses at once (here EACCES: a TCP connect to the broadcast address, which never leaves
/// the machine) is reported inside `connectUpstream`, before the request owns the connection. It must still be a
/// connect failure answered at once (503), on both thread models and for HTTP/1.1 and HTTP/2 upstreams alike, not a
/// wait for the route timeout (504).
@Suite(.serialized) struct ImmediateConnectFailureBinaryTests {
    @Test func refusedConnectIsAnsweredAtOnce() throws {
        let dir = makeTempDirectory("connect-at-once")
        defer { removeTree(dir) }
        let ports = (0..<4).map { _ in freePort() }
        func listener(_ name: String, _ port: Int, _ model: String, _ upstream: String) -> String {
            #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)","filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"\#(upstream)","router_config_name":"r"}}]}]}"#
        }
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"nowhere","timeout":"5s"}}]}]}],
              "listeners":[\(listener("np1", ports[0], "netpoll", "Http1")),\(listener("rw1", ports[1], "rwloop", "Http1")),
                \(listener("np2", ports[2], "netpoll", "Http2")),\(listener("rw2", ports[3], "rwloop", "Http2"))]}],
             "cluster_manager":{"clusters":[{"name":"nowhere","connect_timeout":"2s","hosts":[{"address":"255.255.255.255:80"}]}]}}
            """
        let (skiff, _) = try AccessLogSupport.start(config, dir: dir)
        defer { skiff.stop() }
        for port in ports {
            let r = try SkiffProcess.runCommand(
                "/usr/bin/curl", ["-s", "-m", "8", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "http://127.0.0.1:\(port)/x"])
            let parts = r.output.split(separator: " ")
            #expect(parts.first == "503", "\(port): \(r.output)")
            #expect((parts.last.flatMap { Double($0) } ?? 99) < 1.5, "answered only after \(r.output)")
        }
    }
}
