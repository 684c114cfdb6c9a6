import Glibc
import SkiffTestSupport
import Testing

/// Tracing allocates nothing per request: the trace context lives in the request's reused record, the headers sent
/// upstream are borrowed from it, and the digest line goes through the access-log lanes. Checked on the real binary
/// under callgrind: 2,000 keep-alive HTTP requests through a skiff that traces (each request's context generated, a
/// traceparent started, a digest line written) against 2,000 through a skiff without `tracing` whose listener has an
/// access log of the digest's own layout (the same header captures and line formatting: the debug build these tests
/// run allocates in generic loops that the release build specializes away); the difference in allocator calls per
/// request must stay near 0 (an allocation per request would add 1).
@Suite(.serialized) struct TracingAllocationBinaryTests {
    /// The server digest's layout as a `json_format` (docs/tracing.md).
    static let digestLayout = """
        {"timestamp":"%span_end_time%","traceId":"%trace_id%","spanId":"%rpc_id%","span.kind":"server",\
        "service":"%REQ(service)%","method":"%REQ(sofa_head_method_name?method)%","protocol":"%protocol%",\
        "req.size":"%bytes_received%","resp.size":"%bytes_sent%","baggage":"%REQ(rpc_trace_context.sofapenattrs)%",\
        "mosn.duration":"%duration%","result.code":"%trace_result_code%","upstream.cluster":"%upstream_cluster%",\
        "remote.ip":"%downstream_remote_address%","remote.app":"%REQ(rpc_trace_context.sofacallerapp)%",\
        "local.ip":"%UPSTREAM_HOST%"}
        """

    @Test(.enabled(if: CallgrindSkiff.available, "needs valgrind"))
    func tracingAllocatesNothingPerRequest() throws {
        let host = try HTTPTestServer(name: "h")
        defer { host.stop() }
        let dir = makeTempDirectory("trace-alloc")
        defer { removeTree(dir) }
        func config(_ port: Int, tracing: Bool) -> String {
            let block = tracing ? #","tracing":{"enable":true,"driver":"SOFATracer","config":{"log_path":"\#(dir)/trace"}}"# : ""
            let digestLike = #","access_logs":[{"log_path":"\#(dir)/digest-like.log","json_format":\#(Self.digestLayout)}]"#
            return """
                {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
                  {"match":{"prefix":"/"},"route":{"cluster_name":"svc"}}]}]}],
                 "listeners":[{"name":"h","address":"127.0.0.1:\(port)","pollers":1,"type":"ingress"\(tracing ? "" : digestLike),
                   "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
                 "cluster_manager":{"clusters":[{"name":"svc","hosts":[{"address":"127.0.0.1:\(host.port)"}]}]}\(block)}
                """
        }
        let n = 2_000
        var calls: [Int] = []
        for tracing in [false, true] {
            let port = freePort()
            let run = makeTempDirectory("trace-alloc-run")
            defer { removeTree(run) }
            let skiff = try CallgrindSkiff(config: config(port, tracing: tracing), dir: run)
            defer { skiff.stop() }
            let client = try AccessLogSupport.KeepAlive(port: port)
            calls.append(
                try skiff.allocatorCalls(n) {
                    let status = try client.get("/t").status
                    #expect(status == 200)
                })
        }
        // The debug build allocates on the request path too (generic code it leaves unspecialized): some calls
        // must be seen, or the parser is blind.
        #expect(calls.allSatisfy { $0 > 0 }, "allocator calls: \(calls)")
        let perRequest = Double(calls[1] - calls[0]) / Double(n)
        print("tracing allocations: untraced \(calls[0]), traced \(calls[1]) allocator calls over \(n) requests each")
        #expect(perRequest < 0.2, "allocator calls: untraced \(calls[0]), traced \(calls[1]) over \(n) requests each")
        let digest = String(decoding: (try? readFile("\(dir)/trace/rpc-server-digest.log")) ?? [], as: UTF8.self)
        #expect(digest.split(separator: "\n").count >= n, "digest lines")
    }
}
