import Glibc
import Logging
import SkiffConfig
import SkiffEngine
import SkiffJSON
import SkiffNet
import SkiffTelemetry
import SkiffTestSupport

/// An engine with TLS on both sides, built in-process (the config decoder does not read `tls_context` yet, so the
/// TLS settings are set on the decoded model): `front` (netpoll, TLS with ALPN http/1.1) proxies TCP to the cluster
/// `back`, which speaks TLS (SNI localhost, checked against the test CA) to the listener `back` (rwloop, TLS), which
/// proxies to a plaintext echo server; `mixed` (netpoll) is an inspector listener proxying to the echo server.
/// Certificates: `Tests/Fixtures/tls` (ca.pem; server.pem and server.key for CN localhost, SAN DNS:localhost and
/// IP:127.0.0.1).
final class TLSEngineFixture {
    static let directory = SkiffProcess.packageRoot + "/Tests/Fixtures/tls"
    static var caPath: String { directory + "/ca.pem" }

    let echo: EchoServer
    let engine: Engine
    let front = freePort()
    let back = freePort()
    let mixed = freePort()

    init(publishIntervalMs: Int = 100) throws {
        echo = try EchoServer()
        let text = """
            {"servers":[{"listeners":[
              {"name":"front","address":"127.0.0.1:\(front)","thread_model":"netpoll","pollers":1,
               "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"back"}}]}]},
              {"name":"back","address":"127.0.0.1:\(back)","thread_model":"rwloop",
               "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"echo"}}]}]},
              {"name":"mixed","address":"127.0.0.1:\(mixed)","thread_model":"netpoll","pollers":1,
               "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"echo"}}]}]}]}],
             "cluster_manager":{"clusters":[
               {"name":"back","hosts":[{"address":"127.0.0.1:\(back)"}]},
               {"name":"echo","hosts":[{"address":"127.0.0.1:\(echo.port)"}]}]}}
            """
        do {
            engine = try Engine(config: try Self.config(text), logger: Logger(label: "test"))
            engine.publisher.intervalMs.store(publishIntervalMs, ordering: .relaxed)
            try engine.start()
        } catch {
            echo.stop()
            throw error
        }
    }

    /// `text` decoded, with TLS set on every listener (`mixed` an inspector) and on the cluster `back`.
    static func config(_ text: String) throws -> SkiffConfiguration {
        var config = try ConfigDecoder.decode(text)
        for (i, l) in config.servers[0].listeners.enumerated() {
            var server = TLSContextConfig(
                path: "servers[0].listeners[\(i)].filter_chains[0].tls_context",
                certChain: .file(directory + "/server.pem"), privateKey: .file(directory + "/server.key"))
            if l.name == "front" { server.alpn = ["http/1.1"] }
            config.servers[0].listeners[i].tls = ListenerTLSConfig(contexts: [server], inspector: l.name == "mixed")
        }
        let b = config.clusters.firstIndex { $0.name == "back" }!
        config.clusters[b].tls = TLSContextConfig(
            path: "cluster_manager.clusters[\(b)].tls_context", caCert: .file(caPath), serverName: "localhost")
        return config
    }

    func stop() {
        engine.stop()
        echo.stop()
    }

    /// The running listener `name`'s TLS endpoint.
    func endpoint(_ name: String) -> TLSServerEndpoint? {
        engine.listeners.first { $0.name == name }?.listener.tls
    }

    /// Reads every pushed frame after `cursor` (moving it) until `match` gives a value, for at most `seconds`.
    func awaitFrame<T>(after cursor: inout UInt64, seconds: Double = 10, _ match: (TelemetryFrame) -> T?) -> T? {
        var buf: [UInt8] = []
        let deadline = MonotonicClock.now() + UInt64(seconds * 1e9)
        while MonotonicClock.now() < deadline {
            switch engine.hub.frames.read(after: cursor, into: &buf) {
            case .frame(let seq, _):
                cursor = seq
                if let json = try? JSONParser.parse(buf), let found = match(TelemetryFrame(json: json)) { return found }
            case .none:
                _ = engine.hub.frames.wait(after: cursor, timeoutNs: 200_000_000)
            }
        }
        return nil
    }
}

/// A TLS client in Python's `ssl` (SNI localhost, the test CA, ALPN h2 and http/1.1) that moves one step at a time,
/// each when the test creates a gate file: `connect` (TCP only), then `handshake` (no application byte), then
/// `send` (ping, and its echo read back), then `quit`. It prints what it did.
final class SteppedTLSClient {
    let gates = "/tmp/skiff-test-\(getpid())-tlsgate-\(UInt32.random(in: 0...UInt32.max))"
    private let script: String
    let process: SkiffProcess

    init(port: Int) throws {
        script = try writeTempFile(
            """
            import os, socket, ssl, sys, time
            port, ca, gates = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            def gate(name):
                t = time.time()
                while not os.path.exists(gates + "." + name):
                    if time.time() - t > 30: sys.exit(3)
                    time.sleep(0.01)
            raw = socket.create_connection(("127.0.0.1", port))
            print("connected", flush=True)
            gate("handshake")
            ctx = ssl.create_default_context(cafile=ca)
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            print("handshake", s.version(), s.cipher()[0], s.selected_alpn_protocol(), flush=True)
            gate("send")
            s.sendall(b"ping")
            got = b""
            while len(got) < 4:
                more = s.recv(4 - len(got))
                if not more: break
                got += more
            print("echoed", got.decode(), flush=True)
            gate("quit")
            """, suffix: ".py")
        let python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"
        process = try SkiffProcess(executable: python, [script, "\(port)", TLSEngineFixture.caPath, gates])
    }

    func open(_ gate: String) { close(Glibc.open(gates + "." + gate, O_CREAT | O_WRONLY, 0o644)) }

    func stop() {
        open("quit")
        if process.waitForExit(seconds: 5) == nil { process.kill() }
        for g in ["handshake", "send", "quit"] { unlink(gates + "." + g) }
        unlink(script)
    }
}
