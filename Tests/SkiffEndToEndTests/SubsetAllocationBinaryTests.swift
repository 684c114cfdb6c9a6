import Glibc
import SkiffTestSupport
import Testing

/// Routing by subset allocates nothing per request: the subset is chosen when routes meet their clusters, so a
/// request pays a switch and a pick. Checked on the real binary under valgrind's callgrind, which counts every call
/// to the allocator: 2,000 keep-alive requests on a subset route against 2,000 on a plain route of the same skiff
/// (same build, same window), the difference per request must stay near 0 (an allocation per request would add 1).
@Suite(.serialized) struct SubsetAllocationBinaryTests {
    @Test(.enabled(if: CallgrindSkiff.available, "needs valgrind"))
    func subsetRoutingAllocatesNothingPerRequest() throws {
        let host = try HTTPTestServer(name: "h")
        defer { host.stop() }
        let port = freePort()
        let dir = makeTempDirectory("subset-alloc")
        defer { removeTree(dir) }
        let criteria = #","metadata_match":{"filter_metadata":{"mosn.lb":{"stage":"prod"}}}"#
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/subset"},"route":{"cluster_name":"svc"\(criteria)}},
              {"match":{"prefix":"/"},"route":{"cluster_name":"svc"}}]}]}],
             "listeners":[{"name":"h","address":"127.0.0.1:\(port)","pollers":1,
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"svc","lb_subset_config":{"fall_back_policy":0,"subset_selectors":[["stage"]]},
               "hosts":[{"address":"127.0.0.1:\(host.port)","metadata":{"filter_metadata":{"mosn.lb":{"stage":"prod"}}}}]}]}}
            """
        let skiff = try CallgrindSkiff(config: config, dir: dir)
        defer { skiff.stop() }
        let client = try AccessLogSupport.KeepAlive(port: port)
        func window(_ path: String, _ n: Int) throws -> Int {
            try skiff.allocatorCalls(n) {
                let status = try client.get(path).status
                #expect(status == 200)
            }
        }
        let n = 2_000
        let plain = try window("/plain", n)
        let subset = try window("/subset/x", n)
        // The debug build allocates on the request path too (generic code it leaves unspecialized): some calls
        // must be seen, or the parser is blind.
        #expect(plain > 0 && subset > 0, "allocator calls: plain \(plain), subset \(subset)")
        let perRequest = Double(subset - plain) / Double(n)
        #expect(perRequest < 0.2, "allocator calls: plain \(plain), subset \(subset) over \(n) requests each")
        #expect(host.count(path: "/subset/x") >= n)
    }
}
