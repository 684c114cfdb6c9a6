import Glibc
import SkiffTestSupport

/// Helpers for the access-log tests: files' lines, keep-alive requests on one connection, a skiff started from a
/// config file in a directory of its own.
enum AccessLogSupport {
    /// The complete lines of `path` (none when it does not exist yet).
    static func lines(_ path: String) -> [String] {
        guard let bytes = try? readFile(path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Waits until `path` holds `count` lines, then a little longer to see that no more come; returns them.
    static func waitForLines(_ path: String, count: Int, seconds: Double = 10) -> [String] {
        _ = waitUntil(seconds: seconds) { lines(path).count >= count }
        usleep(300_000)
        return lines(path)
    }

    /// A connection that sends GETs one after another and reads each response (Content-Length bodies).
    final class KeepAlive {
        let socket: TestSocket
        private var buffer: [UInt8] = []

        init(port: Int) throws { socket = try TestSocket.connect(port: port, timeoutSeconds: 10) }

        deinit { socket.close() }

        /// Sends `GET path` with `headers`; returns the status and the body.
        func get(_ path: String, headers: [(String, String)] = []) throws -> (status: Int, body: [UInt8]) {
            let extra = headers.map { "\($0.0): \($0.1)\r\n" }.joined()
            try socket.send("GET \(path) HTTP/1.1\r\nHost: test\r\n\(extra)\r\n")
            while true {
                if let end = headEnd() {
                    let head = String(decoding: buffer[0..<end], as: UTF8.self)
                    let status = Int(head.split(separator: " ")[1]) ?? 0
                    let length =
                        head.lowercased().split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                    while buffer.count < end + 4 + length {
                        guard let more = try socket.receiveSome() else { throw TestError("closed mid-body") }
                        buffer += more
                    }
                    let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                    buffer.removeFirst(end + 4 + length)
                    return (status, body)
                }
                guard let more = try socket.receiveSome() else { throw TestError("closed before a response") }
                buffer += more
            }
        }

        private func headEnd() -> Int? {
            guard buffer.count >= 4 else { return nil }
            for i in 0...(buffer.count - 4)
            where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                return i
            }
            return nil
        }
    }

    /// A skiff started from `config` written to `<dir>/conf/skiff.json` (so MOSN's default access-log path is
    /// `<dir>/logs/<listener>_access.log`), with its own control socket.
    static func start(_ config: String, dir: String, extraArgs: [String] = []) throws -> (SkiffProcess, sock: String) {
        mkdir(dir, 0o755)
        mkdir(dir + "/conf", 0o755)
        let path = dir + "/conf/skiff.json"
        guard let f = fopen(path, "w") else { throw TestError("cannot write \(path)") }
        fputs(config, f)
        fclose(f)
        let sock = dir + "/skiff.sock"
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock] + extraArgs)
        guard p.waitForOutput("started") else { throw TestError("skiff did not start: \(p.output)") }
        return (p, sock)
    }

    /// Writes `config` over the running config file of a skiff `start` began.
    static func rewrite(_ config: String, dir: String) {
        let f = fopen(dir + "/conf/skiff.json", "w")
        fputs(config, f)
        fclose(f)
    }

    /// An HTTP listener's JSON with `accessLogs` (a JSON array's text) on `port`, routing to router `r`.
    static func httpListener(_ name: String, port: Int, model: String, accessLogs: String) -> String {
        """
        {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)","pollers":2,
         "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"r"}}]}],
         "access_logs":\(accessLogs)}
        """
    }

    /// A whole HTTP config: `listeners`, router `r` sending `/api/` to cluster `web` (prefix rewritten to `/`),
    /// `/direct` answered by Skiff, nothing else routed; `web` has one host, named `web-1`.
    static func httpConfig(listeners: [String], web: Int, admin: Int? = nil) -> String {
        let adminPart = admin.map {
            #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\#($0)}}}"#
        } ?? ""
        return """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/api/"},"route":{"cluster_name":"web","prefix_rewrite":"/"}},
               {"match":{"path":"/direct"},"direct_response":{"status":200,"body":"direct\\n"}}]}]}],
              "listeners":[\(listeners.joined(separator: ","))]}],
             "cluster_manager":{"clusters":[{"name":"web","connect_timeout":"1s",
               "hosts":[{"address":"127.0.0.1:\(web)","hostname":"web-1"}]}]}\(adminPart)}
            """
    }
}
