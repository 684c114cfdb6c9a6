import Glibc
import SkiffTestSupport
import Testing

/// Reads a file from configs/.
func shippedConfig(_ name: String) throws -> String {
    String(decoding: try readFile("\(SkiffProcess.packageRoot)/configs/\(name)"), as: UTF8.self)
}

extension String {
    func replacing(_ old: String, with new: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = String(rest).offset(of: old) {
            let idx = rest.utf8.index(rest.startIndex, offsetBy: r)
            out += rest[..<idx] + new
            rest = rest[rest.utf8.index(idx, offsetBy: old.utf8.count)...]
        }
        return out + rest
    }
}

/// The example configs run as shipped, with only their ports moved to free ones.
@Suite(.serialized) struct ShippedConfigTests {
    @Test func http1ExampleRoutesRealTrafficOnBothModels() throws {
        let backends = try ["web-a", "web-b", "api-a", "api-b", "canary"].map { try HTTPTestServer(name: $0) }
        defer { for b in backends { b.stop() } }
        let np = freePort()
        let rw = freePort()
        var text = try shippedConfig("http1.json").replacing("12080", with: "\(np)").replacing("12081", with: "\(rw)")
        for (i, b) in backends.enumerated() { text = text.replacing("\(12280 + i)", with: "\(b.port)") }
        let path = try writeTempFile(text)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            let base = "http://127.0.0.1:\(port)"
            let web = try curl(["\(base)/index.html"]).output
            #expect(web == "web-a /index.html" || web == "web-b /index.html", "\(web)")
            #expect(try curl(["\(base)/static/app.js"]).output.hasSuffix(" /app.js"))
            #expect(try curl(["-H", "Host: api.local", "\(base)/health"]).output == "ok\n")
            #expect(try curl(["-H", "Host: api.local", "-H", "x-canary: 1", "\(base)/v2/users"]).output == "canary /v2/users")
            // Weighted 90/10 between api and api_canary: over 60 requests both appear, api far more often.
            var counts: [String: Int] = [:]
            for _ in 0..<60 {
                let who = try curl(["-H", "Host: api.local:\(port)", "\(base)/v2/items"]).output
                counts[String(who.split(separator: " ").first ?? ""), default: 0] += 1
            }
            let api = (counts["api-a"] ?? 0) + (counts["api-b"] ?? 0)
            #expect(api >= 40, "\(counts)")
            #expect(api + (counts["canary"] ?? 0) == 60, "\(counts)")
        }
        #expect(p.stop() == 0)
    }

    /// MOSN's own HTTP sample starts unchanged apart from its ports and proxies to its backend.
    @Test func mosnHTTPSampleStartsAndProxies() throws {
        let backend = try HTTPTestServer(name: "mosn-backend")
        defer { backend.stop() }
        let port = freePort()
        let text = try shippedConfig("mosn_http_sample.json").replacing("12046", with: "\(port)")
            .replacing("127.0.0.1:8080", with: "127.0.0.1:\(backend.port)").replacing("12902", with: "\(freePort())")
        let path = try writeTempFile(text)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(try curl(["http://127.0.0.1:\(port)/hello"]).output == "mosn-backend /hello")
        #expect(p.stop() == 0)
    }

    /// The old-form SofaRpc config (proxy + connection_manager, two clusters) runs unchanged apart from addresses.
    @Test func boltOldFormConfigRoutesByService() throws {
        let cpp = try RPCTestServer(kind: .bolt, name: "cpp")
        let java = try RPCTestServer(kind: .bolt, name: "java")
        defer {
            cpp.stop()
            java.stop()
        }
        let np = freePort()
        let rw = freePort()
        let text = try shippedConfig("bolt.json").replacing("12200", with: "\(np)").replacing("12201", with: "\(rw)")
            .replacing("12300", with: "\(cpp.port)").replacing("12301", with: "\(java.port)")
        let path = try writeTempFile(text)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            for (i, service, who) in [(1, "com.alipay.test.TestService:1.0", "cpp"), (2, "com.other.Svc:2.0", "java")] {
                let got = try rpcClient(
                    port: port, count: 1, window: 1,
                    frame: { _ in RPCFrames.boltRequest(id: i, service: service, content: Array("hi".utf8)) },
                    responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
                #expect(RPCFrames.parseBolt(got[i]!)!.content == Array("\(who):hi".utf8))
            }
        }
        #expect(p.stop() == 0)
    }

    @Test func dubboConfigRoutesTheReferenceFrame() throws {
        let notify = try RPCTestServer(kind: .dubbo, name: "notify")
        let other = try RPCTestServer(kind: .dubbo, name: "other")
        defer {
            notify.stop()
            other.stop()
        }
        let np = freePort()
        let rw = freePort()
        let text = try shippedConfig("dubbo.json").replacing("12210", with: "\(np)").replacing("12211", with: "\(rw)")
            .replacing("12310", with: "\(notify.port)").replacing("12311", with: "\(other.port)")
        let path = try writeTempFile(text)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let vector = hexBytes(dubboRequestNotifyHex)
        for port in [np, rw] {
            let got = try rpcClient(
                port: port, count: 1, window: 1, frame: { _ in vector },
                responseID: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } })
            #expect(got[76] != nil, "the response carries the request's own id 76")
            #expect(String(decoding: RPCFrames.parseDubbo(got[76]!)!.body.dropFirst(2), as: UTF8.self).hasPrefix("notify:"))
        }
        #expect(p.stop() == 0)
    }
}
