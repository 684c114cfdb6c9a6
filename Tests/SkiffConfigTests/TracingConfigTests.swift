import Glibc
import Testing

@testable import SkiffConfig

/// MOSN's top-level `tracing` block: the SOFATracer driver on, off, and what each listener takes from it.
@Suite struct TracingConfigTests {
    static func config(_ tracing: String) -> String {
        Fixture.config(
            listeners: [
                Fixture.proxyListener("in", extra: #","type":"ingress""#),
                Fixture.proxyListener("out", extra: #","type":"egress""#),
                Fixture.proxyListener("plain"),
                Fixture.tcpListener("tcp"),
            ],
            routers: [Fixture.router()], top: #","tracing":\#(tracing)"#)
    }

    @Test func sofaTracerGivesEachProxyListenerItsDigest() throws {
        let c = try #require(
            decodeValid(Self.config(#"{"enable":true,"driver":"SOFATracer","config":{"log_path":"/var/log/trace/"}}"#)))
        #expect(c.tracing == TracingConfig(logDirectory: "/var/log/trace/"))
        let byName = Dictionary(uniqueKeysWithValues: c.allListeners.map { ($0.name, $0.tracing) })
        #expect(byName["in"] == ListenerTracing(kind: .server, digestPath: "/var/log/trace/rpc-server-digest.log"))
        #expect(byName["out"] == ListenerTracing(kind: .client, digestPath: "/var/log/trace/rpc-client-digest.log"))
        // No `type`: the application's calls going out, as most sidecar listeners are.
        #expect(byName["plain"] == ListenerTracing(kind: .client, digestPath: "/var/log/trace/rpc-client-digest.log"))
        // tcp_proxy carries no requests: nothing to trace.
        #expect(byName["tcp"] == .some(nil))
    }

    @Test func theDefaultDirectoryIsUnderHome() throws {
        let c = try #require(decodeValid(Self.config(#"{"enable":true,"driver":"SOFATracer"}"#)))
        let home = String(cString: getenv("HOME"))
        #expect(c.tracing?.logDirectory == TracingConfig.defaultLogDirectory(home: home))
        #expect(TracingConfig.defaultLogDirectory(home: "/home/app/") == "/home/app/logs/tracelog/mosn")
    }

    @Test func disabledTracingIsCheckedButOff() throws {
        let c = try #require(decodeValid(Self.config(#"{"enable":false,"driver":"SOFATracer"}"#)))
        #expect(c.tracing == nil)
        #expect(c.allListeners.allSatisfy { $0.tracing == nil })
        // Off, a driver Skiff does not run is still refused: turning it on later must not be the first to say so.
        #expect(errorLines(Self.config(#"{"enable":false,"driver":"jaeger"}"#)).first?.hasPrefix("tracing.driver:") == true)
    }

    @Test func mosnsDubboSamplesTrace() throws {
        for name in ["mosn_dubbo_client_sample.json", "mosn_dubbo_server_sample.json"] {
            let c = try ConfigDecoder.load(path: "\(packageRoot)/configs/\(name)")
            #expect(c.tracing != nil, "\(name)")
            #expect(c.allListeners.first?.tracing?.kind == .client, "\(name)")
        }
    }

    static var packageRoot: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }
    var packageRoot: String { Self.packageRoot }
}
