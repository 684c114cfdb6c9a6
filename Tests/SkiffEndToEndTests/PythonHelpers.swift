import Glibc
import SkiffTestSupport

/// The system Python (its standard library stays readable after a script drops root to another uid, which a
/// per-user installation under /root may not).
let systemPython = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"

/// Starts `script` (Python 3 source) with `args`. The caller stops the process and removes the script file.
func startPython(_ script: String, _ args: [String] = []) throws -> (process: SkiffProcess, scriptPath: String) {
    let path = try writeTempFile(script, suffix: ".py")
    chmod(path, 0o644)
    return (try SkiffProcess(executable: systemPython, [path] + args), path)
}

/// The uid the tests use for "another user" (nobody).
let otherUID: UInt32 = 65534

/// Tests that act as another user need root (CI runs as root).
let runningAsRoot = getuid() == 0

/// A fresh directory under /tmp, removed by the caller.
func makeTempDirectory(_ tag: String) -> String {
    let dir = "/tmp/skiff-test-\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max))"
    mkdir(dir, 0o700)
    return dir
}

func removeTree(_ path: String) {
    _ = try? SkiffProcess.runCommand("/bin/rm", ["-rf", path])
}
