import Glibc
import SkiffTestSupport
import Testing

/// Subset load balancing through the real binary (issue 20): MOSN's reference example over HTTP (three hosts by
/// `stage` and `version`, a default subset), NO_FALLBACK's 503, and Bolt and Dubbo routes picking subsets on both
/// thread models; the fallbacks counted in `/metrics` under MOSN's names.
@Suite(.serialized) struct SubsetBinaryTests {
    static func subsetCluster(_ name: String, policy: Int, hosts: [(Int, String, String)]) -> String {
        let list = hosts.map { port, stage, version in
            #"{"address":"127.0.0.1:\#(port)","metadata":{"filter_metadata":{"mosn.lb":{"stage":"\#(stage)","version":"\#(version)"}}}}"#
        }.joined(separator: ",")
        let fallback = policy == 2 ? #","default_subset":{"stage":"prod"}"# : ""
        return """
            {"name":"\(name)","lb_type":"LB_ROUNDROBIN","lb_subset_config":{"fall_back_policy":\(policy)\(fallback),
             "subset_selectors":[["stage"],["stage","version"]]},"hosts":[\(list)]}
            """
    }

    static func criteria(_ pairs: String) -> String { #","metadata_match":{"filter_metadata":{"mosn.lb":\#(pairs)}}"# }

    /// `hosts[i]` answered how many of the `n` requests for `path` (with `headers`) sent on one connection.
    func spread(_ port: Int, _ hosts: [HTTPTestServer], _ path: String, headers: [(String, String)] = [], n: Int = 30)
        throws -> (counts: [Int], statuses: Set<Int>)
    {
        let before = hosts.map { $0.count(path: path) }
        let client = try AccessLogSupport.KeepAlive(port: port)
        var statuses: Set<Int> = []
        for _ in 0..<n { statuses.insert(try client.get(path, headers: headers).status) }
        return (zip(hosts, before).map { $0.count(path: path) - $1 }, statuses)
    }

    func metric(_ admin: Int, _ line: String) throws -> String? {
        let client = try AccessLogSupport.KeepAlive(port: admin)
        let text = String(decoding: try client.get("/metrics").body, as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.map { String($0.dropFirst(line.count + 1)) }
    }

    @Test func mosnsExampleOverHTTP() throws {
        let hosts = try (1...3).map { try HTTPTestServer(name: "s\($0)") }
        defer { for h in hosts { h.stop() } }
        let (port, admin) = (freePort(), freePort())
        let cluster = Self.subsetCluster(
            "svc", policy: 2,
            hosts: [(hosts[0].port, "prod", "v1"), (hosts[1].port, "prod", "v2"), (hosts[2].port, "canary", "v2")])
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/","headers":[{"name":"x-canary","value":"1"}]},"route":{"cluster_name":"svc"\(Self.criteria(#"{"stage":"canary"}"#))}},
              {"match":{"prefix":"/v2"},"route":{"cluster_name":"svc"\(Self.criteria(#"{"version":"v2","stage":"prod"}"#))}},
              {"match":{"prefix":"/v1"},"route":{"cluster_name":"svc"\(Self.criteria(#"{"version":"v1"}"#))}},
              {"match":{"prefix":"/"},"route":{"cluster_name":"svc"}}]}]}],
             "listeners":[{"name":"h","address":"127.0.0.1:\(port)","pollers":2,
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[\(cluster)]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
        let path = try writeTempFile(config)
        defer { unlink(path) }
        // /v1's keys are no selector's: skiff says so before it starts, and still starts (MOSN's example relies on it).
        let validate = try SkiffProcess.run(["validate", "-c", path])
        #expect(validate.status == 0, "\(validate.output)")
        #expect(validate.output.contains("keys [version] are no subset selector"), "\(validate.output)")
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")

        #expect(try spread(port, hosts, "/any", headers: [("x-canary", "1")]).counts == [0, 0, 30])
        #expect(try spread(port, hosts, "/v2/x").counts == [0, 30, 0])
        // Falls back to the default subset (stage=prod): hosts 1 and 2, round robin.
        #expect(try spread(port, hosts, "/v1/x").counts == [15, 15, 0])
        #expect(try spread(port, hosts, "/other").counts == [10, 10, 10])
        #expect(try metric(admin, #"upstream_lb_subsets_fallback{cluster="svc"}"#) == "30")
        #expect(try metric(admin, #"upstream_lb_subsets_created{cluster="svc"}"#) == "5")
    }

    @Test func noFallbackAnswersNoHealthyUpstream() throws {
        let host = try HTTPTestServer(name: "only")
        defer { host.stop() }
        let (port, admin) = (freePort(), freePort())
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"svc"\(Self.criteria(#"{"stage":"canary"}"#))}}]}]}],
             "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[\(Self.subsetCluster("svc", policy: 0, hosts: [(host.port, "prod", "v1")]))]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let r = try spread(port, [host], "/x", n: 5)
        #expect(r.counts == [0])
        #expect(r.statuses == [503])
        #expect(try metric(admin, #"upstream_lb_subsets_fallback{cluster="svc"}"#) == "5")
        #expect(try metric(admin, #"upstream_request_no_healthy_host_total{cluster="svc"}"#) == "5")
    }

    @Test func boltRoutesPickSubsetsOnBothThreadModels() throws {
        let servers = try ["p1", "p2", "c3"].map { try RPCTestServer(kind: .bolt, name: $0) }
        defer { for s in servers { s.stop() } }
        let (np, rw) = (freePort(), freePort())
        let routes = """
            {"match":{"headers":[{"name":"service","value":"canary.Service"}]},"route":{"cluster_name":"svc"\(Self.criteria(#"{"stage":"canary"}"#))}},
            {"match":{"headers":[{"name":"service","value":"prod.Service"}]},"route":{"cluster_name":"svc"\(Self.criteria(#"{"stage":"prod"}"#))}}
            """
        let cluster = Self.subsetCluster(
            "svc", policy: 1,
            hosts: [(servers[0].port, "prod", "v1"), (servers[1].port, "prod", "v2"), (servers[2].port, "canary", "v2")])
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: cluster))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            for (service, allowed) in [("canary.Service", ["c3"]), ("prod.Service", ["p1", "p2"])] {
                let got = try rpcClient(
                    port: port, count: 40, window: 4,
                    frame: { i in RPCFrames.boltRequest(id: i, service: service, content: Array("r\(i)".utf8)) },
                    responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
                let answeredBy = Set(got.values.map { String(decoding: RPCFrames.parseBolt($0)!.content, as: UTF8.self).split(separator: ":")[0] })
                #expect(answeredBy == Set(allowed.map { Substring($0) }), "\(service) on \(port): \(answeredBy)")
            }
        }
    }

    @Test func dubboRoutesPickSubsets() throws {
        let servers = try ["p1", "c2"].map { try RPCTestServer(kind: .dubbo, name: $0) }
        defer { for s in servers { s.stop() } }
        let (np, rw) = (freePort(), freePort())
        let routes = """
            {"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"svc"\(Self.criteria(#"{"stage":"canary","version":"v2"}"#))}}
            """
        let cluster = Self.subsetCluster(
            "svc", policy: 0, hosts: [(servers[0].port, "prod", "v1"), (servers[1].port, "canary", "v2")])
        let path = try writeTempFile(rpcConfig(proto: "dubbo", netpoll: np, rwloop: rw, routes: routes, clusters: cluster))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            let got = try rpcClient(
                port: port, count: 30, window: 4,
                frame: { i in RPCFrames.dubboRequest(id: UInt64(i), service: "com.example.S", method: "m", payload: "p\(i)") },
                responseID: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } })
            #expect(got.count == 30)
            #expect(got.values.allSatisfy { String(decoding: RPCFrames.parseDubbo($0)!.body.dropFirst(2), as: UTF8.self).hasPrefix("c2:") })
        }
        #expect(servers[0].requests.load(ordering: .relaxed) == 0)
    }
}
