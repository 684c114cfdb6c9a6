import Glibc

/// Python with the third-party peers the end-to-end tests talk to (anthunder: Ant's SOFA Bolt library), in a
/// virtualenv under the package's `.build/peer-venv`. `.ci/run` makes it before the tests; on a developer's first
/// run this makes it (`pip install anthunder` from PyPI, a few seconds).
public enum PeerPython {
    public static var venv: String { SkiffProcess.packageRoot + "/.build/peer-venv" }
    public static var script: String { SkiffProcess.packageRoot + "/Tests/peers/anthunder_bolt.py" }

    /// The venv's python, able to `import anthunder`; made if missing. Throws with pip's output if it cannot be.
    public static func withAnthunder() throws -> String {
        let python = venv + "/bin/python"
        if canImport(python) { return python }
        let env = inheritedEnvironment()
        let made = try run("python3", ["-m", "venv", venv], env, seconds: 120)
        guard made.status == 0 else { throw TestError("python3 -m venv \(venv): \(made.output)") }
        let pip = try run(venv + "/bin/pip", ["install", "--quiet", "anthunder"], env, seconds: 300)
        guard pip.status == 0, canImport(python) else { throw TestError("pip install anthunder: \(pip.output)") }
        return python
    }

    private static func canImport(_ python: String) -> Bool {
        access(python, X_OK) == 0 && (try? run(python, ["-c", "import anthunder"], [:], seconds: 60))?.status == 0
    }

    static func run(_ exe: String, _ args: [String], _ env: [String: String], seconds: Double) throws -> (
        status: Int32, output: String
    ) {
        let p = try SkiffProcess(executable: exe, args, environment: env)
        guard let status = p.waitForExit(seconds: seconds) else {
            p.kill()
            throw TestError("\(exe) \(args.joined(separator: " ")) did not finish in \(seconds) s")
        }
        return (status, p.output)
    }

    /// pip's settings (index, certificates, proxies) and HOME from this process's environment.
    static func inheritedEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                let key = String(s[..<eq])
                let upper = key.uppercased()
                if upper.hasPrefix("PIP_") || upper.hasSuffix("_PROXY") || key == "HOME" || upper.hasPrefix("SSL_")
                    || upper == "REQUESTS_CA_BUNDLE"
                {
                    out[key] = String(s[s.index(after: eq)...])
                }
            }
            p += 1
        }
        return out
    }
}
