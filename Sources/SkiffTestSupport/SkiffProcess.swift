import Glibc
import SkiffNet

/// The built `skiff` binary, run as a child process for end-to-end tests. Its stdout and stderr go to files so a
/// test can read the log; `stop` sends SIGTERM to this pid only and waits.
public final class SkiffProcess: @unchecked Sendable {
    public let pid: pid_t
    public let logPath: String
    private var exited: Int32?

    /// The directory holding the test bundle, which is where SwiftPM puts the `skiff` executable too.
    public static var binaryPath: String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = String(decoding: buf[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return dir + "/skiff"
    }

    /// The package root (for configs/), from this source file's location.
    public static var packageRoot: String {
        let here = #filePath
        let parts = here.split(separator: "/", omittingEmptySubsequences: false)
        return parts.dropLast(3).joined(separator: "/")
    }

    /// Starts `skiff ARGS`. Output goes to a fresh log file.
    /// `start` gets its own control socket unless the test names one: tests run side by side, and a second skiff on
    /// the default path is (rightly) refused.
    public convenience init(_ args: [String], environment: [String: String] = [:]) throws {
        var args = args
        if args.first == "start" && !args.contains("--control-socket") {
            args += ["--control-socket", "/tmp/skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"]
        }
        try self.init(executable: SkiffProcess.binaryPath, args, environment: environment)
    }

    /// Starts any program (curl, python3 ...) the same way; `executable` is searched in PATH when it has no slash.
    public init(executable: String, _ args: [String], environment: [String: String] = [:]) throws {
        let log = "/tmp/skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        logPath = log
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = [executable] + args
        var env = environment.map { "\($0.key)=\($0.value)" }
        if let path = getenv("PATH") { env.append("PATH=\(String(cString: path))") }
        // The child starts with no signal blocked, as from a shell: the test runner's threads block most signals
        // and a spawned child would inherit that mask (nginx, for one, would then never see its SIGTERM).
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var p: pid_t = 0
        let rc = withCStrings(argv) { cargv in
            withCStrings(env) { cenv in posix_spawnp(&p, argv[0], &actions, &attr, cargv, cenv) }
        }
        guard rc == 0 else { throw TestError("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        pid = p
    }

    /// Runs `skiff ARGS` to completion (with a timeout) and returns exit code and output.
    public static func run(_ args: [String], timeoutSeconds: Double = 60) throws -> (status: Int32, output: String) {
        let p = try SkiffProcess(args)
        guard let status = p.waitForExit(seconds: timeoutSeconds) else {
            p.kill()
            throw TestError("skiff \(args.joined(separator: " ")) did not exit in \(timeoutSeconds) s")
        }
        return (status, p.output)
    }

    /// Runs any program to completion and returns exit code and output (stdout and stderr together).
    public static func runCommand(_ executable: String, _ args: [String], timeoutSeconds: Double = 60) throws -> (
        status: Int32, output: String
    ) {
        let p = try SkiffProcess(executable: executable, args)
        guard let status = p.waitForExit(seconds: timeoutSeconds) else {
            p.kill()
            throw TestError("\(executable) \(args.joined(separator: " ")) did not exit in \(timeoutSeconds) s")
        }
        return (status, p.output)
    }

    /// Everything the process printed so far.
    public var output: String { String(decoding: (try? readFile(logPath)) ?? [], as: UTF8.self) }

    /// Waits until the log contains `text` (or the process exits, or time runs out).
    public func waitForOutput(_ text: String, seconds: Double = 20) -> Bool {
        waitUntil(seconds: seconds) { self.output.contains(text) || self.hasExited }
            && output.contains(text)
    }

    public var hasExited: Bool {
        if exited != nil { return true }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exited = exitCode(status)
            return true
        }
        return false
    }

    /// Exit status (128+signal when killed), or nil if still running after `seconds`.
    public func waitForExit(seconds: Double) -> Int32? {
        _ = waitUntil(seconds: seconds) { self.hasExited }
        return exited
    }

    private func exitCode(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }

    public func signal(_ sig: Int32) { Glibc.kill(pid, sig) }

    /// SIGTERM, then SIGKILL if it has not exited in `seconds`. Returns the exit status.
    @discardableResult
    public func stop(seconds: Double = 10) -> Int32? {
        if hasExited { return exited }
        signal(SIGTERM)
        if let s = waitForExit(seconds: seconds) { return s }
        kill()
        return waitForExit(seconds: 5)
    }

    public func kill() {
        if !hasExited { Glibc.kill(pid, SIGKILL) }
    }

    deinit {
        kill()
        _ = waitForExit(seconds: 2)
        unlink(logPath)
    }
}

/// Writes `text` to a new temporary file and returns its path.
public func writeTempFile(_ text: String, suffix: String = ".json") throws -> String {
    let path = "/tmp/skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))\(suffix)"
    guard let f = fopen(path, "w") else { throw TestError("cannot write \(path)") }
    fputs(text, f)
    fclose(f)
    return path
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    ptrs.append(nil)
    defer { for p in ptrs { free(p) } }
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A whole file's bytes.
public func readFile(_ path: String) throws -> [UInt8] {
    guard let f = fopen(path, "r") else { throw TestError("cannot read \(path)") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return out
}
