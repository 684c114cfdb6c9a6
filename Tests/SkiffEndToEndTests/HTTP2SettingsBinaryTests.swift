import Glibc
import SkiffTestSupport
import Testing

/// `http2_protocol_options` on a listener and on a cluster (Skiff's, Envoy's names): what hyper-h2 sees of them on
/// both sides — the listener's SETTINGS and connection window to a client, the cluster's to the upstream — and the
/// cluster's stream limit holding Skiff below the server's own, on both thread models.
@Suite(.serialized) struct HTTP2SettingsBinaryTests {
    @Test func listenerAndClusterSettingsReachThePeers() throws {
        let (peer, peerPort) = try HTTP2Peers.serve(HTTP2Peers.h2Script)
        defer { peer.stop() }
        let dir = makeTempDirectory("h2-settings")
        defer { removeTree(dir) }
        let (np, rw, admin) = (freePort(), freePort(), freePort())
        let listenerOptions =
            #""http2_protocol_options":{"max_concurrent_streams":7,"initial_stream_window_size":1048576,"initial_connection_window_size":4194304}"#
        func listener(_ name: String, _ port: Int, _ model: String) -> String {
            #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)",\#(listenerOptions),"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r"}}]}]}"#
        }
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"peer","timeout":"5s"}}]}]}],
              "listeners":[\(listener("np", np, "netpoll")),\(listener("rw", rw, "rwloop"))]}],
             "cluster_manager":{"clusters":[{"name":"peer","hosts":[{"address":"127.0.0.1:\(peerPort)"}],
               "http2_protocol_options":{"max_concurrent_streams":3,"initial_stream_window_size":131072,"initial_connection_window_size":2097152}}]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
        let (skiff, _) = try AccessLogSupport.start(config, dir: dir)
        defer { skiff.stop() }
        for port in [np, rw] {
            let seen = try HTTP2Peers.h2Case(port, "settings")
            #expect(
                seen.contains(#""max_concurrent_streams": 7, "initial_window_size": 1048576, "connection_window": 4194304"#),
                "\(port): \(seen)")
            let upstream = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                ["-s", "-m", "5", "--http2-prior-knowledge", "-H", "x-echo-settings: 1", "http://127.0.0.1:\(port)/s"])
            #expect(upstream.output.contains("initial_window_size: 131072\n"), "\(upstream.output)")
            #expect(upstream.output.contains("connection_window: 2097152\n"), "\(upstream.output)")
            // Ten slow streams at once: three per upstream connection (the cluster's limit, under hyper-h2's own), so
            // more than one connection opens for them.
            let load = try SkiffProcess.runCommand(
                "/usr/bin/h2load",
                ["-n", "10", "-c", "1", "-m", "7", "-H", "x-sleep-ms: 300", "http://127.0.0.1:\(port)/slow"],
                timeoutSeconds: 30)
            #expect(load.output.contains("10 succeeded"), "\(load.output)")
        }
        let (_, metrics) = try adminRequest(admin, "GET", "/metrics")
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("upstream_connection_total{cluster=\"peer\"") }
        let opened = line.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? -1
        // Each listener model: at least one connection per three of the seven streams in flight.
        #expect(opened >= 2 * 3, "\(line ?? "no upstream_connection_total")")
    }
}
