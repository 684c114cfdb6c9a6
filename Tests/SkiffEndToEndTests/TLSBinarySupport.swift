import Glibc
import SkiffTestSupport
import Testing

/// The TLS test certificates (`Tests/Fixtures/tls`, made by `scripts/make-test-certs.sh`) by absolute path, so
/// skiff, curl, openssl and Python find them from any working directory.
enum TLSFixture {
    static let directory = SkiffProcess.packageRoot + "/Tests/Fixtures/tls"
    static func path(_ file: String) -> String { directory + "/" + file }
    static var ca: String { path("ca.pem") }
    static var untrustedCA: String { path("untrusted-ca.pem") }
    static var clientCert: String { path("client.pem") }
    static var clientKey: String { path("client.key") }

    /// The SHA-256 of a PEM certificate's DER (lower-case hex), as Python prints it for a peer certificate.
    static func fingerprint(_ pemPath: String) throws -> String {
        let r = try SkiffProcess.runCommand(
            systemPython,
            ["-c", "import hashlib,ssl,sys;print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).hexdigest())", pemPath],
            timeoutSeconds: 20)
        guard r.status == 0 else { throw TestError("fingerprint of \(pemPath): \(r.output)") }
        return String(r.output.split(separator: "\n").first ?? "")
    }
}

/// Config text for the TLS end-to-end tests: MOSN's JSON with a `tls_context` on the listener or the cluster.
enum TLSConfigText {
    /// The fields of a listener context asking for a client certificate from the test CA and checking it.
    static var mutualTLS: String {
        #""ca_cert":"\#(TLSFixture.ca)","verify_client":true,"require_client_cert":true"#
    }

    /// A `tls_context` object turned on, serving `cert`/`key` (fixture names or absolute paths), plus `extra` fields.
    static func context(cert: String = "server.pem", key: String = "server.key", _ extra: String = "") -> String {
        let c = cert.hasPrefix("/") ? cert : TLSFixture.path(cert)
        let k = key.hasPrefix("/") ? key : TLSFixture.path(key)
        let more = extra.isEmpty ? "" : "," + extra
        return #"{"status":true,"cert_chain":"\#(c)","private_key":"\#(k)"\#(more)}"#
    }

    /// One HTTP proxy listener `name` on `port` with `tls` in its filter chain (`"tls_context":{...}` or
    /// `"tls_context_set":[...]`), every request routed to the cluster `backend` at `backendPort`.
    static func proxy(name: String, port: Int, model: String, tls: String, backendPort: Int) -> String {
        """
        {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
          {"match":{"prefix":"/"},"route":{"cluster_name":"backend","timeout":"5s"}}]}]}],
         "listeners":[{"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)",
           "filter_chains":[{\(tls),
             "filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
         "cluster_manager":{"clusters":[{"name":"backend","connect_timeout":"1s",
           "hosts":[{"address":"127.0.0.1:\(backendPort)"}]}]}}
        """
    }
}

/// One `skiff start` for a TLS test: its config written to a temp file for free ports (picked again when another
/// test took one first), its own control socket, its log. `stop` ends this process only.
final class TLSSkiff {
    let process: SkiffProcess
    let ports: [Int]
    var port: Int { ports[0] }
    let controlSocket: String
    let configPath: String

    /// Starts skiff on the config `config(ports)` makes for `portCount` free ports.
    init(portCount: Int = 1, _ config: ([Int]) -> String) throws {
        var attempt = 0
        while true {
            attempt += 1
            let ports = (0..<portCount).map { _ in freePort() }
            let path = try writeTempFile(config(ports))
            let sock = "/tmp/skiff-test-\(getpid())-tls-\(ports[0]).sock"
            let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
            if p.waitForOutput("started") {
                (process, self.ports, controlSocket, configPath) = (p, ports, sock, path)
                return
            }
            _ = p.stop()
            unlink(path)
            if attempt < 3 && p.output.contains("Address already in use") { continue }
            throw TestError("skiff did not start: \(p.output)")
        }
    }

    @discardableResult
    func stop() -> Int32? {
        let s = process.stop()
        unlink(configPath)
        return s
    }

    var log: String { process.output }

    /// True once the log has a failed handshake of `owner` ("listener NAME", "cluster NAME") for `reason`, in the
    /// form `tls: OWNER: handshake with 127.0.0.1:PORT failed: REASON: ...`.
    func loggedFailure(_ owner: String, _ reason: String, seconds: Double = 3) -> Bool {
        waitUntil(seconds: seconds) {
            self.log.split(separator: "\n").contains {
                $0.contains("tls: \(owner): handshake with 127.0.0.1:") && $0.contains(" failed: \(reason): ")
            }
        }
    }

    /// `skiff reload` through the control socket, after the config file was rewritten with `text` (when given).
    func reload(config text: String? = nil) throws -> (status: Int32, output: String) {
        if let text { try overwrite(configPath, text) }
        return try SkiffProcess.run(["reload", "--socket", controlSocket], timeoutSeconds: 20)
    }
}

/// An HTTPTestServer named `backend` behind a skiff HTTP listener `name` with `tls` in its filter chain (see
/// `TLSConfigText.proxy`), on one thread model. `stop` ends both.
final class TLSFront {
    let backend: HTTPTestServer
    let skiff: TLSSkiff
    let name: String
    let model: String
    var port: Int { skiff.port }

    init(model: String, name: String = "front", tls: String) throws {
        let b = try HTTPTestServer(name: "backend")
        do {
            skiff = try TLSSkiff { ports in
                TLSConfigText.proxy(name: name, port: ports[0], model: model, tls: tls, backendPort: b.port)
            }
        } catch {
            b.stop()
            throw error
        }
        (backend, self.name, self.model) = (b, name, model)
    }

    /// The same front's config with `tls` instead (for a reload).
    func config(tls: String) -> String {
        TLSConfigText.proxy(name: name, port: port, model: model, tls: tls, backendPort: backend.port)
    }

    func stop() {
        skiff.stop()
        backend.stop()
    }

    /// True once the log has a failed handshake on this listener for `reason`.
    func loggedFailure(_ reason: String) -> Bool { skiff.loggedFailure("listener \(name)", reason) }
}

/// curl over TLS to 127.0.0.1:`port` with the test CA and, when `certificate` is set, the client certificate
/// `NAME.pem`/`NAME.key`. `extra` goes before the URL.
func tlsCurl(port: Int, path: String, certificate: String? = "client", ca: String = TLSFixture.ca, host: String = "127.0.0.1",
             _ extra: [String] = []) throws -> (status: Int32, output: String) {
    var args = ["--max-time", "5", "--cacert", ca]
    if let c = certificate { args += ["--cert", TLSFixture.path(c + ".pem"), "--key", TLSFixture.path(c + ".key")] }
    if host != "127.0.0.1" { args += ["--resolve", "\(host):\(port):127.0.0.1"] }
    return try curl(args + extra + ["https://\(host):\(port)\(path)"])
}

/// `openssl s_client -connect 127.0.0.1:PORT ARGS` with `request` on its stdin (and `-ign_eof`, so it reads what the
/// server sends until the server closes); output is stdout and stderr together. With an empty `request` it only
/// reads: a refusal that comes after the client's side of the handshake (TLS 1.3 client certificates) is then seen
/// before anything is written, instead of racing a write against the server's close.
func openSSLClient(port: Int, _ args: [String], request: String = "GET /good HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n")
    throws -> (status: Int32, output: String)
{
    let quoted = args.map { "'\($0)'" }.joined(separator: " ")
    let command = "printf '\(request)' | exec openssl s_client -connect 127.0.0.1:\(port) -ign_eof \(quoted)"
    return try SkiffProcess.runCommand("/bin/sh", ["-c", command], timeoutSeconds: 15)
}

/// A Python string literal for `s` (paths and names: no quotes or backslashes in them).
func py(_ s: String) -> String { "'\(s)'" }

/// Helpers every Python TLS peer starts with (`ssl` from the standard library; the test CA by default):
/// `context`, `connect`, `request` (one keep-alive HTTP/1.1 exchange), `closed_by_peer`, `probe` (one attempt of a
/// peer Skiff should refuse, printed as `outcome:` and `closed:` lines), `wait_for_file`, `emit`.
let tlsPythonPrelude = #"""
    import hashlib, os, select, socket, ssl, sys, time

    VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}

    def context(ca=CA, cert=None, key=None, min_version=None, max_version=None, ciphers=None, alpn=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca)
        # Python ignores a missing close_notify by default (an EOF then reads as b""); a truncation must show.
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
        if cert:
            ctx.load_cert_chain(cert, key)
        if min_version:
            ctx.minimum_version = VERSIONS[min_version]
        if max_version:
            ctx.maximum_version = VERSIONS[max_version]
        if ciphers:
            ctx.set_ciphers(ciphers)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def connect(ctx, port, sni="localhost", session=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname=sni, session=session, suppress_ragged_eofs=False)

    def request(s, path):
        """One GET on a keep-alive connection; returns (status line, body)."""
        s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("closed before a response head")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("closed mid-body")
            body += chunk
        return lines[0].decode(), body.decode()

    def closed_by_peer(s, seconds=5):
        """True when the peer closes the TCP connection (EOF or reset) within `seconds` (bytes before are skipped)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            ready, _, _ = select.select([s.fileno()], [], [], max(0, deadline - time.time()))
            if not ready:
                return False
            try:
                if os.read(s.fileno(), 65536) == b"":
                    return True
            except ConnectionResetError:
                return True
        return False

    def probe(port, path="/bad", sni="localhost", **ctx_args):
        """One attempt by a peer Skiff should refuse: what happened, and whether Skiff closed the connection."""
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = context(**ctx_args).wrap_socket(raw, server_hostname=sni, do_handshake_on_connect=False,
                                            suppress_ragged_eofs=False)
        try:
            s.do_handshake()
            # Under TLS 1.3 a server refuses a client certificate after the client's handshake is over: wait for that
            # alert before writing (a request written after the server closed would fail first, and hide it).
            s.settimeout(1)
            try:
                if s.recv(1) == b"":
                    raise EOFError("closed after the handshake")
            except socket.timeout:
                pass
            s.settimeout(10)
            status, body = request(s, path)
            outcome = "answered " + status + " " + body
        except (ssl.SSLError, OSError, EOFError) as e:
            outcome = "refused " + type(e).__name__ + ": " + str(e)
        emit("outcome", outcome)
        emit("closed", "yes" if closed_by_peer(s) else "no")

    def wait_for_file(path, seconds=30):
        deadline = time.time() + seconds
        while not os.path.exists(path):
            if time.time() > deadline:
                raise TimeoutError("no " + path)
            time.sleep(0.02)

    def fingerprint(s):
        return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()

    def emit(tag, value):
        print(tag + ": " + str(value), flush=True)

    """#

/// The prelude (with the CA and client certificate paths bound) followed by `main`, as a script file's text.
func tlsPythonScript(_ main: String) -> String {
    """
    CA = \(py(TLSFixture.ca))
    CLIENT_CERT = \(py(TLSFixture.clientCert))
    CLIENT_KEY = \(py(TLSFixture.clientKey))
    \(tlsPythonPrelude)
    \(main)
    """
}

/// Runs a Python TLS peer to completion; returns its exit status and output.
func runTLSPython(_ main: String, seconds: Double = 30) throws -> (status: Int32, output: String) {
    let (p, path) = try startPython(tlsPythonScript(main))
    defer { unlink(path) }
    guard let status = p.waitForExit(seconds: seconds) else {
        p.kill()
        throw TestError("python peer did not finish in \(seconds) s: \(p.output)")
    }
    return (status, p.output)
}

/// The value of the first `tag: value` line a Python peer printed, nil without one.
func emitted(_ tag: String, in output: String) -> String? {
    output.split(separator: "\n").first { $0.hasPrefix(tag + ": ") }.map { String($0.dropFirst(tag.count + 2)) }
}

/// The thread models every TLS end-to-end scenario runs on.
let tlsThreadModels = ["netpoll", "rwloop"]
