import Glibc
import SkiffTestSupport

/// Debian's nginx as a reverse proxy in front of the same backends as Skiff, for comparing verdicts on hostile
/// input. One process (no master), its config, pid file, logs and temp paths in a fresh directory, on a free
/// loopback port; `stop` ends that pid only and removes the directory.
final class NginxProxy {
    let process: SkiffProcess
    let port: Int
    let directory: String

    static var isInstalled: Bool {
        (try? SkiffProcess.runCommand("sh", ["-c", "command -v nginx"]).status) == 0
    }

    /// `timeout` is nginx's client header, client body and keep-alive timeout (Skiff's three, set alike).
    init(web: Int, api: Int, timeout: String) throws {
        var template = Array("/tmp/skiff-nginx-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) })
        else { throw TestError("mkdtemp failed") }
        directory = dir
        var attempt = 0
        while true {
            attempt += 1
            let p = freePort()
            let conf = """
                worker_processes 1; daemon off; master_process off; pid \(dir)/nginx.pid; error_log \(dir)/error.log;
                events { worker_connections 256; }
                http {
                  access_log off;
                  client_body_temp_path \(dir)/body; proxy_temp_path \(dir)/proxy; fastcgi_temp_path \(dir)/fastcgi;
                  uwsgi_temp_path \(dir)/uwsgi; scgi_temp_path \(dir)/scgi;
                  client_header_timeout \(timeout); client_body_timeout \(timeout); keepalive_timeout \(timeout);
                  proxy_read_timeout 5s;
                  upstream web { server 127.0.0.1:\(web); keepalive 8; }
                  upstream api { server 127.0.0.1:\(api); }
                  server {
                    listen 127.0.0.1:\(p);
                    location /api/ { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; }
                    location /admin { return 403; }
                    location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }
                  }
                }
                """
            let path = "\(dir)/nginx.conf"
            guard let f = fopen(path, "w") else { throw TestError("cannot write \(path)") }
            fputs(conf, f)
            fclose(f)
            let proc = try SkiffProcess(executable: "nginx", ["-p", dir, "-e", "\(dir)/error.log", "-c", path])
            if waitUntil(seconds: 10, { (try? TestSocket.connect(port: p, timeoutSeconds: 1))?.close() != nil || proc.hasExited }),
                !proc.hasExited
            {
                (process, port) = (proc, p)
                return
            }
            proc.stop()
            let log = String(decoding: (try? readFile("\(dir)/error.log")) ?? [], as: UTF8.self)
            if attempt < 3 && log.contains("Address already in use") { continue }
            _ = try? SkiffProcess.runCommand("rm", ["-rf", dir])
            throw TestError("nginx did not start: \(proc.output) \(log)")
        }
    }

    func stop() {
        process.stop()
        _ = try? SkiffProcess.runCommand("rm", ["-rf", directory])
    }
}
