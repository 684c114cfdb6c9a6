import Glibc
import SkiffJSON
import SkiffTestSupport

/// Small helpers the xDS end-to-end tests share on top of `XDSRig`: fixture text, the control plane's view of one
/// type, "is this port refusing", and one HTTP request with chosen headers reduced to what two proxies must agree
/// on. Stateless; any thread.
extension XDSRig {
    /// Real Envoy beside this rig's Skiff: its own control plane on the rig's resources with `variables` (Envoy binds
    /// the listener ports it is given, so they must differ from Skiff's), bootstrapped from `envoy-bootstrap.json`.
    /// The caller stops both.
    func startEnvoy(_ binary: String, variables: [String: String]) throws -> (envoy: SkiffProcess, plane: XDSTestServer)
    {
        let plane = try XDSTestServer(resources: resources, variables: variables)
        let bootstrap = try Self.fixture("envoy-bootstrap.json")
            .replacing("\"${ADMIN_PORT}\"", with: "\(freePort())")
            .replacing("\"${XDS_PORT}\"", with: "\(plane.grpcPort)")
        let bootstrapPath = dir + "/envoy.json"
        try Self.replaceFile(bootstrapPath, with: bootstrap)
        do {
            let envoy = try SkiffProcess(
                executable: binary,
                ["-c", bootstrapPath, "--disable-hot-restart", "--concurrency", "1", "-l", "warning"])
            return (envoy, plane)
        } catch {
            plane.stop()
            throw error
        }
    }

    /// The text of `Tests/Fixtures/xds/<name>` (placeholders left for the control plane to fill).
    static func fixture(_ name: String) throws -> String {
        String(decoding: try readFile(XDSPeers.fixtures + "/" + name), as: UTF8.self)
    }

    /// The control plane's state of `type` (`listeners`, `routes`, `clusters`, `endpoints`) on Skiff's stream.
    func served(_ type: String) -> JSONValue? { stream()?["types"]?[type] }

    /// `skiff ctl xds`'s listeners not bound yet, with what each waits for (nil when ctl did not answer).
    func waiting() -> [String: String]? {
        guard case .object(let members)? = xds()?["waiting"] else { return nil }
        var out: [String: String] = [:]
        for m in members { out[m.key] = m.value.stringValue ?? "" }
        return out
    }

    /// True when nothing listens on 127.0.0.1:`port` (the connect is refused).
    static func refuses(_ port: Int) -> Bool {
        guard let s = try? TestSocket.connect(port: port, timeoutSeconds: 2) else { return true }
        s.close()
        return false
    }

    /// One GET through curl on `port` with `headers` (`"Name: value"`; a `Host:` among them replaces curl's).
    /// Returns `"<body> <status>"`, or `"<status> -> <Location>"` for a redirect; a body that is the backend's echo of the
    /// request head (`/headers`) is reduced to its Host line, the only part two different proxies agree on.
    static func ask(port: Int, _ path: String, headers: [String] = []) -> String {
        var args = ["-s", "-m", "5", "-w", "\n%{http_code} %header{location}"]
        for h in headers { args += ["-H", h] }
        args.append("http://127.0.0.1:\(port)\(path)")
        guard let r = try? SkiffProcess.runCommand("curl", args, timeoutSeconds: 10) else { return "curl failed" }
        guard let cut = r.output.lastIndex(of: "\n") else { return r.output }
        var body = String(r.output[..<cut])
        let tail = r.output[r.output.index(after: cut)...].split(separator: " ", maxSplits: 1)
        let status = tail.first.map(String.init) ?? "?"
        if body.hasPrefix("GET ") {
            body =
                body.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" })
                .first { $0.lowercased().hasPrefix("host:") }.map { $0.lowercased() } ?? "(no host line)"
        }
        // A redirect is its status and Location: the body is the proxy's own words (Envoy sends none).
        if tail.count > 1, !tail[1].isEmpty { return status + " -> " + tail[1] }
        return body + " " + status
    }
}
