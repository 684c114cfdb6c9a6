import Glibc
import SkiffTestSupport

/// Backends and a running `skiff` with one HTTP listener per thread model, for end-to-end tests.
final class HTTPFixture {
    let web1: HTTPTestServer
    let web2: HTTPTestServer
    let api: HTTPTestServer
    let canary: HTTPTestServer
    let failing: HTTPTestServer
    let skiff: SkiffProcess
    let netpollPort: Int
    let rwloopPort: Int
    let dead: DeadPort
    var deadPort: Int { dead.port }
    let configPath: String

    var ports: [Int] { [netpollPort, rwloopPort] }

    init() throws {
        web1 = try HTTPTestServer(name: "web1")
        web2 = try HTTPTestServer(name: "web2")
        api = try HTTPTestServer(name: "api")
        canary = try HTTPTestServer(name: "canary")
        failing = try HTTPTestServer(name: "failing", forcedStatus: 503)
        let d = DeadPort()
        dead = d
        // A port freePort() handed out can be taken by another test before skiff binds it: then pick again.
        var attempt = 0
        while true {
            attempt += 1
            let np = freePort()
            let rw = freePort()
            let path = try writeTempFile(
                HTTPFixture.config(
                    netpoll: np, rwloop: rw, web: [web1.port, web2.port], api: api.port,
                    canary: canary.port, failing: failing.port, dead: d.port))
            let p = try SkiffProcess(["start", "-c", path])
            if p.waitForOutput("started") {
                (netpollPort, rwloopPort, configPath, skiff) = (np, rw, path, p)
                return
            }
            _ = p.stop()
            unlink(path)
            if attempt < 3 && p.output.contains("Address already in use") { continue }
            for b in [web1, web2, api, canary, failing] { b.stop() }
            throw TestError("skiff did not start: \(p.output)")
        }
    }

    func stop() -> Int32? {
        let s = skiff.stop()
        for b in [web1, web2, api, canary, failing] { b.stop() }
        unlink(configPath)
        return s
    }

    static func config(netpoll: Int, rwloop: Int, web: [Int], api: Int, canary: Int, failing: Int, dead: Int) -> String {
        func listener(_ name: String, _ port: Int, _ model: String) -> String {
            """
            {"name": "\(name)", "address": "127.0.0.1:\(port)", "thread_model": "\(model)",
             "filter_chains": [{"filters": [{"type": "proxy", "config": {"downstream_protocol": "Http1",
               "upstream_protocol": "Http1", "router_config_name": "r"}}]}]}
            """
        }
        func cluster(_ name: String, _ ports: [Int], extra: String = "") -> String {
            let hosts = ports.map { "{\"address\": \"127.0.0.1:\($0)\"}" }.joined(separator: ",")
            return "{\"name\": \"\(name)\", \"lb_type\": \"LB_ROUNDROBIN\", \"connect_timeout\": \"1s\"\(extra), \"hosts\": [\(hosts)]}"
        }
        return """
            {"servers": [{
              "routers": [{"router_config_name": "r", "virtual_hosts": [
                {"name": "api", "domains": ["api.test"], "routers": [
                  {"match": {"prefix": "/v1/", "headers": [{"name": "x-canary", "value": "1"}]}, "route": {"cluster_name": "canary"}},
                  {"match": {"prefix": "/v1/"}, "route": {"cluster_name": "api"}},
                  {"match": {"path": "/direct"}, "direct_response": {"status": 200, "body": "direct\\n"}},
                  {"match": {"prefix": "/old/"}, "redirect": {"path_redirect": "/new", "response_code": 301}}
                ]},
                {"name": "web", "domains": ["*"], "routers": [
                  {"match": {"prefix": "/static/"}, "route": {"cluster_name": "web", "prefix_rewrite": "/"}},
                  {"match": {"prefix": "/retry-connect"}, "route": {"cluster_name": "deadfirst",
                    "retry_policy": {"retry_on": "connect-failure", "num_retries": 1}}},
                  {"match": {"prefix": "/retry5xx"}, "route": {"cluster_name": "flaky",
                    "retry_policy": {"retry_on": "5xx", "num_retries": 1}}},
                  {"match": {"prefix": "/no-retry5xx"}, "route": {"cluster_name": "flaky"}},
                  {"match": {"prefix": "/never"}, "route": {"cluster_name": "web", "timeout": "1s"}},
                  {"match": {"prefix": "/limited"}, "route": {"cluster_name": "limited", "prefix_rewrite": "/slow/1500"}},
                  {"match": {"prefix": "/"}, "route": {"cluster_name": "web"}}
                ]}
              ]}],
              "listeners": [\(listener("http_netpoll", netpoll, "netpoll")), \(listener("http_rwloop", rwloop, "rwloop"))]
            }],
            "cluster_manager": {"clusters": [
              \(cluster("web", web)), \(cluster("api", [api])), \(cluster("canary", [canary])),
              \(cluster("deadfirst", [dead, web[0]])), \(cluster("flaky", [failing, web[1]])),
              \(cluster("limited", [web[0]], extra: ", \"circuit_breakers\": [{\"max_requests\": 1}]"))
            ]}}
            """
    }
}

/// Runs curl with `args` and returns (exit code, output).
func curl(_ args: [String]) throws -> (status: Int32, output: String) {
    try SkiffProcess.runCommand("curl", ["-sS", "--max-time", "10"] + args)
}

/// Sends raw bytes and reads until the server closes (or `seconds` pass).
func rawExchange(port: Int, _ bytes: [UInt8], seconds: Int = 5) throws -> String {
    let s = try TestSocket.connect(port: port, timeoutSeconds: seconds)
    defer { s.close() }
    try s.send(bytes)
    let out = (try? s.receiveToEOF()) ?? []
    return String(decoding: out, as: UTF8.self)
}
