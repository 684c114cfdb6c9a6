import Glibc
import SkiffTestSupport
import Testing

/// Reads a file from configs/.
func shippedConfig(_ name: String) throws -> String {
    let path = "\(SkiffProcess.packageRoot)/configs/\(name)"
    guard let f = fopen(path, "r") else { throw TestError("cannot read \(path)") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
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
}
