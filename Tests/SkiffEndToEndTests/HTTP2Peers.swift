import Glibc
import SkiffTestSupport

/// The HTTP/2 tests' real peers, from `Tests/peers` on the Python venv `XDSPeers` makes: grpcio's own server and client
/// (`grpc_peer.py`), and hyper-h2 as a strict upstream and as a client that breaks the rules on purpose (`h2_peer.py`).
enum HTTP2Peers {
    static var grpcScript: String { SkiffProcess.packageRoot + "/Tests/peers/grpc_peer.py" }
    static var h2Script: String { SkiffProcess.packageRoot + "/Tests/peers/h2_peer.py" }

    /// Starts `script serve` (with `args`) and returns it with the port it printed.
    static func serve(_ script: String, _ args: [String] = []) throws -> (SkiffProcess, Int) {
        let python = try XDSPeers.withXDSProtos()
        let p = try SkiffProcess(executable: python, [script, "serve"] + args)
        guard p.waitForOutput("listening ", seconds: 30),
            let line = p.output.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
            let port = Int(line.split(separator: " ")[1])
        else {
            p.stop()
            throw TestError("\(script) did not start: \(p.output)")
        }
        return (p, port)
    }

    /// One gRPC call through `port`: the JSON line grpc_peer.py printed.
    static func grpc(_ port: Int, _ method: String, _ args: [String] = []) throws -> String {
        let python = try XDSPeers.withXDSProtos()
        let r = try SkiffProcess.runCommand(python, [grpcScript, "call", "\(port)", method] + args, timeoutSeconds: 30)
        return r.output
    }

    /// `"seconds"` of stream `stream` in a case's JSON line (`{"1": {..., "seconds": 1.02}}`), nil when absent.
    static func seconds(of stream: String, in line: String) -> Double? {
        guard let start = line.range(of: "\"\(stream)\": {") else { return nil }
        let rest = line[start.upperBound...]
        guard let key = rest.range(of: "\"seconds\": ") else { return nil }
        let digits = rest[key.upperBound...].prefix { $0.isNumber || $0 == "." }
        return Double(digits)
    }

    /// One h2_peer.py client case against `port`: the JSON line it printed.
    static func h2Case(_ port: Int, _ name: String, _ args: [String] = []) throws -> String {
        let python = try XDSPeers.withXDSProtos()
        let r = try SkiffProcess.runCommand(python, [h2Script, "client", "\(port)", name] + args, timeoutSeconds: 60)
        return r.output
    }

    /// A config with an Http2 listener per thread model, routing `/skiff.test.` to the gRPC peer, `/plain/` to the
    /// h2 peer (`/idle/` too, with a 30 s route timeout), `/skiff.gone.` to a port nobody listens on, `/health` to a
/// direct response and `/old/` to a redirect (301 to `/new`).
    /// `tls`: the listeners' `tls_context` (MOSN's JSON), none when nil; `accessLogs`: their `access_logs` array;
/// `streamIdle`: their `stream_idle_timeout`, the default when nil.
    static func config(
        netpoll: Int, rwloop: Int, auto: Int, grpc: Int, h2: Int, gone: Int, admin: Int, idle: String = "3s",
        tls: String? = nil, accessLogs: String = "[]", streamIdle: String? = nil
    ) -> String {
        let streamIdleField = streamIdle.map { #""stream_idle_timeout":"\#($0)","# } ?? ""
        let chain = tls.map { #""tls_context":\#($0),"# } ?? ""
        func listener(_ name: String, _ port: Int, _ model: String, _ proto: String = "Http2") -> String {
            """
            {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)","pollers":2,
             "connection_idle_timeout":"\(idle)",\(streamIdleField)"access_logs":\(accessLogs),
             "filter_chains":[{\(chain)"filters":[{"type":"proxy","config":{"downstream_protocol":"\(proto)","upstream_protocol":"\(proto)","router_config_name":"r"}}]}]}
            """
        }
        return """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/skiff.test.Echo/Slow"},"route":{"cluster_name":"grpc","timeout":"1s"}},
               {"match":{"prefix":"/skiff.test."},"route":{"cluster_name":"grpc","timeout":"10s"}},
               {"match":{"prefix":"/plain/"},"route":{"cluster_name":"plain","timeout":"2s"}},
               {"match":{"prefix":"/idle/"},"route":{"cluster_name":"plain","timeout":"30s"}},
               {"match":{"prefix":"/skiff.gone."},"route":{"cluster_name":"gone","timeout":"5s"}},
               {"match":{"path":"/health"},"direct_response":{"status":200,"body":"ok\\n"}},
               {"match":{"prefix":"/old/"},"redirect":{"path_redirect":"/new","response_code":301}}]}]}],
              "listeners":[\(listener("h2np", netpoll, "netpoll")),\(listener("h2rw", rwloop, "rwloop")),
                \(listener("auto", auto, "netpoll", "Auto"))]}],
             "cluster_manager":{"clusters":[
               {"name":"grpc","connect_timeout":"1s","hosts":[{"address":"127.0.0.1:\(grpc)"}]},
               {"name":"plain","connect_timeout":"1s","hosts":[{"address":"127.0.0.1:\(h2)"}]},
               {"name":"gone","connect_timeout":"1s","hosts":[{"address":"127.0.0.1:\(gone)"}]}]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
    }
}

/// The running rig: both peers and Skiff in front of them. `stop` ends what it started.
final class HTTP2Rig {
    let grpc: SkiffProcess
    let h2: SkiffProcess
    let skiff: SkiffProcess
    /// Skiff's control socket.
    let socket: String
    let dir: String
    let netpoll = freePort()
    let rwloop = freePort()
    let admin = freePort()
    /// An `Auto` listener (netpoll) beside the two Http2 ones.
    let auto = freePort()
    var listeners: [Int] { [netpoll, rwloop] }

    init(
        tag: String, idle: String = "3s", tls: String? = nil, streamIdle: String? = nil,
        accessLogs: (String) -> String = { _ in "[]" }
    ) throws {
        let (g, gp) = try HTTP2Peers.serve(HTTP2Peers.grpcScript)
        grpc = g
        let (h, hp) = try HTTP2Peers.serve(HTTP2Peers.h2Script)
        h2 = h
        dir = makeTempDirectory(tag)
        let config = HTTP2Peers.config(
            netpoll: netpoll, rwloop: rwloop, auto: auto, grpc: gp, h2: hp, gone: freePort(), admin: admin, idle: idle,
            tls: tls, accessLogs: accessLogs(dir), streamIdle: streamIdle)
        do {
            (skiff, socket) = try AccessLogSupport.start(config, dir: dir)
        } catch {
            g.stop()
            h.stop()
            throw error
        }
    }

    /// The value of the Prometheus family `name` for the listener named `listener`.
    func metric(_ name: String, listener: String) throws -> UInt64 {
        try metric(name, label: "listener=\"\(listener)\"")
    }

    /// The value of the first series of family `name` whose labels contain `label`.
    func metric(_ name: String, label: String) throws -> UInt64 {
        let (_, body) = try adminRequest(admin, "GET", "/metrics")
        for line in body.split(separator: "\n") where line.hasPrefix(name + "{") && line.contains(label) {
            if let v = line.split(separator: " ").last.flatMap({ UInt64(Double($0) ?? -1) }) { return v }
        }
        throw TestError("no \(name) with \(label) in /metrics")
    }

    func stop() {
        skiff.stop()
        grpc.stop()
        h2.stop()
        removeTree(dir)
    }
}

/// Debian's nginx as a fast h2c upstream (`listen ... http2`, prior knowledge): `/4k` answers 4,096 bytes. One
/// process (no master) in a fresh directory on a free port; `stop` ends that pid and removes the directory.
final class NginxH2Backend {
    let process: SkiffProcess
    let port: Int
    let directory: String

    init() throws {
        directory = makeTempDirectory("nginx-h2")
        let p = freePort()
        mkdir(directory + "/html", 0o755)
        guard let page = fopen(directory + "/html/4k", "w") else { throw TestError("cannot write the 4 KiB page") }
        fputs(String(repeating: "0123456789abcdef", count: 255) + "0123456789abcde\n", page)
        fclose(page)
        guard let big = fopen(directory + "/html/100k", "w") else { throw TestError("cannot write the 100 kB page") }
        fputs(String(repeating: "x", count: 100_000), big)
        fclose(big)
        let conf = """
            worker_processes 1; daemon off; master_process off; pid \(directory)/nginx.pid; error_log \(directory)/error.log;
            events { worker_connections 1024; }
            http {
              access_log off; keepalive_requests 100000000; http2_max_concurrent_streams 256;
              client_body_temp_path \(directory)/body; proxy_temp_path \(directory)/proxy; fastcgi_temp_path \(directory)/fastcgi;
              uwsgi_temp_path \(directory)/uwsgi; scgi_temp_path \(directory)/scgi;
              server { listen 127.0.0.1:\(p) http2; root \(directory)/html; }
            }
            """
        let path = "\(directory)/nginx.conf"
        guard let f = fopen(path, "w") else { throw TestError("cannot write \(path)") }
        fputs(conf, f)
        fclose(f)
        let proc = try SkiffProcess(executable: "nginx", ["-p", directory, "-e", "\(directory)/error.log", "-c", path])
        guard waitUntil(seconds: 10, { (try? TestSocket.connect(port: p, timeoutSeconds: 1))?.close() != nil }) else {
            proc.stop()
            removeTree(directory)
            throw TestError("nginx (h2c) did not start: \(proc.output)")
        }
        process = proc
        port = p
    }

    func stop() {
        process.stop()
        removeTree(directory)
    }
}
