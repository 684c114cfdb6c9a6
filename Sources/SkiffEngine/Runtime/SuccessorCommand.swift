import CSkiffLinux
import Glibc
import SkiffSystem

/// How a running skiff starts its own successor for a binary upgrade on SIGUSR2: the binary now installed at the path
/// this process was started from, with this process's `start` arguments plus `--upgrade` (without `--daemonize`
/// and `--tui`: the successor runs beside this process, headless). Under systemd the successor is this process's
/// child, so it runs in the service's cgroup and may say `MAINPID=` (docs/operations.md, "Binary upgrade").
///
/// A value; `spawn` from any thread.
public struct SuccessorCommand: Sendable, Equatable {
    /// Absolute path of the binary to run.
    public var executable: String
    /// argv[1...].
    public var arguments: [String]

    public init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    /// The successor of a process started as `arguments` (argv[1...], beginning with `start`), running the binary at
    /// `executable`. Nil when the arguments are not a `start` command.
    public static func upgrading(executable: String, startArguments arguments: [String]) -> SuccessorCommand? {
        guard arguments.first == "start" else { return nil }
        var args = arguments.filter { $0 != "--daemonize" && $0 != "--tui" }
        if !args.contains("--upgrade") { args.append("--upgrade") }
        return SuccessorCommand(executable: executable, arguments: args)
    }

    /// The path this process's binary was started from, as the kernel knows it (`/proc/self/exe`); when the file has
    /// been replaced since (a package upgrade installs a new inode), the kernel adds " (deleted)" and the path is the
    /// new binary's.
    public static func installedExecutablePath() -> String? {
        var buf = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        var path = String(decoding: buf[0..<n], as: UTF8.self)
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path
    }

    /// Starts it: a child that inherits this process's environment, stdout and stderr, and nothing else (no
    /// listening socket, no connection). Returns its pid.
    public func spawn() throws(SystemError) -> pid_t {
        let argv = [executable] + arguments
        let pid = withCStrings(argv) { cargv in cskiff_spawn_clean(executable, cargv, environ) }
        guard pid > 0 else { throw SystemError("fork", errno: errno) }
        return pid
    }
}

/// Calls `body` with a NULL-terminated `char *const []` of `strings`.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
