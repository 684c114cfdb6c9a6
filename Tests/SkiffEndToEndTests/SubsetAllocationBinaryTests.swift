import Glibc
import SkiffTestSupport
import Testing

/// Routing by subset allocates nothing per request: the subset is chosen when routes meet their clusters, so a
/// request pays a switch and a pick. Checked on the real binary under valgrind's callgrind, which counts every call
/// to the allocator: 2,000 keep-alive requests on a subset route against 2,000 on a plain route of the same skiff
/// (same build, same window), the difference per request must stay near 0 (an allocation per request would add 1).
@Suite(.serialized) struct SubsetAllocationBinaryTests {
    /// Calls to the allocators in a callgrind dump.
    static func allocatorCalls(_ dump: String) throws -> Int {
        let text = String(decoding: try readFile(dump), as: UTF8.self)
        var names: [String: String] = [:]
        var target: String?
        var total = 0
        let allocators: Set<String> = ["malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc"]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("cfn=(") || line.hasPrefix("fn=(") {
                let body = line.drop { $0 != "(" }.dropFirst()
                let id = String(body.prefix { $0 != ")" })
                let rest = body.drop { $0 != ")" }.dropFirst().drop { $0 == " " }
                if !rest.isEmpty { names[id] = String(rest) }
                target = line.hasPrefix("cfn=") ? names[id] : nil
            } else if line.hasPrefix("calls="), let t = target, allocators.contains(t) {
                total += Int(line.dropFirst("calls=".count).prefix { $0.isNumber }) ?? 0
            }
        }
        return total
    }

    @Test(.enabled(if: access("/usr/bin/valgrind", X_OK) == 0, "needs valgrind"))
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
        let path = dir + "/skiff.json"
        try overwrite(path, config)
        let out = dir + "/cg.out"
        // valgrind cannot read the debug build's DWARF: a copy without it.
        let binary = dir + "/skiff"
        let strip = try SkiffProcess.runCommand("/usr/bin/objcopy", ["--strip-debug", SkiffProcess.binaryPath, binary])
        #expect(strip.status == 0, "\(strip.output)")
        let p = try SkiffProcess(
            executable: "/usr/bin/valgrind",
            ["--tool=callgrind", "--callgrind-out-file=\(out)", binary, "start", "-c", path,
             "--control-socket", dir + "/s.sock"])
        defer { p.stop(seconds: 30) }
        #expect(p.waitForOutput("started", seconds: 120), "\(p.output)")
        let client = try AccessLogSupport.KeepAlive(port: port)
        var dumps = 0
        func window(_ path: String, _ n: Int) throws -> Int {
            for _ in 0..<200 { #expect(try client.get(path).status == 200) }
            _ = try SkiffProcess.runCommand("/usr/bin/callgrind_control", ["-z", "\(p.pid)"])
            for _ in 0..<n { #expect(try client.get(path).status == 200) }
            _ = try SkiffProcess.runCommand("/usr/bin/callgrind_control", ["-d", "\(p.pid)"])
            // The dump is written when valgrind next polls for commands; complete once its totals line is there.
            dumps += 1
            let dump = "\(out).\(dumps)"
            #expect(waitUntil(seconds: 60) { (try? readFile(dump)).map { String(decoding: $0, as: UTF8.self).contains("\ntotals:") } ?? false })
            return try Self.allocatorCalls(dump)
        }
        let n = 2_000
        let plain = try window("/plain", n)
        let subset = try window("/subset/x", n)
        // Background threads (the frame publisher) allocate in both windows: some calls must be seen, or the
        // parser is blind.
        #expect(plain > 0 && subset > 0, "allocator calls: plain \(plain), subset \(subset)")
        let perRequest = Double(subset - plain) / Double(n)
        #expect(perRequest < 0.2, "allocator calls: plain \(plain), subset \(subset) over \(n) requests each")
        #expect(host.count(path: "/subset/x") >= n)
    }
}
