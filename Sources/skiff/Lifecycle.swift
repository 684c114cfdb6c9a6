import CSkiffLinux
import Glibc
import Logging
import Synchronization

/// Set by `skiff stop --now` (through the control socket) so the next SIGTERM skips the graceful wait.
let immediateStop = Atomic<Bool>(false)

/// `--pid-file`: refuses to start when a live skiff holds it; replaces a stale one; removed on exit.
struct PIDFile {
    let path: String

    /// Writes our pid, or returns why not.
    static func claim(_ path: String) -> Result<PIDFile, CLIError> {
        if let f = fopen(path, "r") {
            var buf = [CChar](repeating: 0, count: 32)
            let line = fgets(&buf, 32, f).map { _ in String(cString: buf) } ?? ""
            fclose(f)
            if let pid = Int32(line.filter { $0.isNumber }), pid > 0, pid != getpid(), kill(pid, 0) == 0 {
                let cmd = (try? String(cString: readProc("/proc/\(pid)/cmdline"))) ?? ""
                if cmd.contains("skiff") {
                    return .failure(CLIError("pid file \(path): skiff is already running as pid \(pid)"))
                }
            }
        }
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "w") else {
            return .failure(CLIError("pid file \(path): cannot write: \(String(cString: strerror(errno)))"))
        }
        fputs("\(getpid())\n", f)
        fclose(f)
        guard rename(tmp, path) == 0 else {
            return .failure(CLIError("pid file \(path): \(String(cString: strerror(errno)))"))
        }
        return .success(PIDFile(path: path))
    }

    func remove() { unlink(path) }
}

private func readProc(_ path: String) throws -> [CChar] {
    guard let f = fopen(path, "r") else { throw CLIError("no \(path)") }
    defer { fclose(f) }
    var out = [CChar](repeating: 0, count: 4096)
    let n = fread(&out, 1, 4095, f)
    for i in 0..<n where out[i] == 0 { out[i] = 32 }
    out[n] = 0
    return out
}

/// `--log-file`: log lines appended to a file that SIGUSR1 reopens (for logrotate).
final class LogFile: @unchecked Sendable {  // fd guarded by `lock`
    let path: String
    private let lock = Mutex<Int32>(-1)

    init(path: String) throws {
        self.path = path
        try reopen()
    }

    func reopen() throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("log file \(path): \(String(cString: strerror(errno)))") }
        lock.withLock { old in
            if old >= 0 { close(old) }
            old = fd
        }
    }

    func write(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        lock.withLock { fd in _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, bytes.count) } }
    }
}

/// swift-log handler writing to a `LogFile`.
struct FileLogHandler: LogHandler {
    let file: LogFile
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        var t = time(nil)
        var tm = tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, 32, "%Y-%m-%dT%H:%M:%S%z", &tm)
        self.file.write("\(String(cString: buf)) \(level) \(label): \(message)")
    }
}

extension SignalSet {
    /// Waits up to `ms` for one of the set's signals; nil on timeout.
    func wait(timeoutMs ms: Int) -> Int32? {
        var s = set
        var ts = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
        var info = siginfo_t()
        let r = sigtimedwait(&s, &info, &ts)
        return r > 0 ? r : nil
    }
}
