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
    /// - Parameter takingOverFrom: a binary upgrade's old process, which may hold the file (it leaves it to us).
    static func claim(_ path: String, takingOverFrom old: Int32? = nil) -> Result<PIDFile, CLIError> {
        if let f = fopen(path, "r") {
            var buf = [CChar](repeating: 0, count: 32)
            let line = fgets(&buf, 32, f).map { _ in buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } } ?? ""
            fclose(f)
            if let pid = Int32(line.filter { $0.isNumber }), pid > 0, pid != getpid(), pid != old, kill(pid, 0) == 0 {
                let cmd = (try? readProc("/proc/\(pid)/cmdline").withUnsafeBufferPointer { String(cString: $0.baseAddress!) }) ?? ""
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

    /// Removes the file if it still names this process (after an upgrade it names the new one).
    func remove() {
        guard let f = fopen(path, "r") else { return }
        var buf = [CChar](repeating: 0, count: 32)
        let line = fgets(&buf, 32, f).map { _ in buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } } ?? ""
        fclose(f)
        if Int32(line.filter { $0.isNumber }) == getpid() { unlink(path) }
    }
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
        self.file.write("\(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }) \(level) \(label): \(message)")
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

/// The new side of a binary upgrade: the old process's listening sockets, received over its control socket.
final class Handover {
    let client: ControlClient
    let oldPID: Int32
    /// By configured address (`127.0.0.1:12080`).
    let sockets: [String: Int32]
    /// The old admin API's socket and configured address, when it handed one over (a skiff older than this one
    /// does not; the new admin API then shares the port with SO_REUSEPORT, as that skiff set it).
    private var admin: (address: String, fd: Int32)?
    let handedAdminSocket: Bool

    private init(client: ControlClient, oldPID: Int32, sockets: [String: Int32], admin: (address: String, fd: Int32)?) {
        self.client = client
        self.oldPID = oldPID
        self.sockets = sockets
        self.admin = admin
        self.handedAdminSocket = admin != nil
    }

    /// How long the old process has to answer (it only duplicates a few descriptors).
    static let answerTimeoutNs: UInt64 = 10_000_000_000

    /// Asks the skiff at `socketPath` for its listening sockets.
    static func receive(_ socketPath: String) throws -> Handover {
        let c = try ControlClient(path: socketPath, answerTimeoutNs: answerTimeoutNs)
        let reply = try c.request(#"{"id":1,"cmd":"upgrade.listeners"}"#)
        let listeners = reply["listeners"]?.arrayValue ?? []
        let fds = c.receivedDescriptors
        guard fds.count == listeners.count else {
            for fd in fds { close(fd) }
            throw CLIError("expected \(listeners.count) sockets from the running skiff, got \(fds.count)")
        }
        var sockets: [String: Int32] = [:]
        var admin: (address: String, fd: Int32)?
        for (l, fd) in zip(listeners, fds) {
            guard let address = l["address"]?.stringValue else {
                close(fd)
                continue
            }
            if l["admin"]?.boolValue == true {
                admin = (address, fd)
            } else {
                sockets[address] = fd
            }
        }
        let pid = Int32(reply["pid"]?.number ?? 0)
        return Handover(client: c, oldPID: pid, sockets: sockets, admin: admin)
    }

    /// The old admin API's socket when it listens on `address` (the caller owns it then); nil otherwise.
    func takeAdminSocket(address: String) -> Int32? {
        guard let a = admin, a.address == address else { return nil }
        admin = nil
        return a.fd
    }

    /// Closes the admin socket if nobody took it (the new config moved the admin API, or has none).
    func closeAdminSocket() {
        if let a = admin { close(a.fd) }
        admin = nil
    }

    /// Closes everything received (this process is not starting after all; the old one serves on).
    func closeUnused() {
        closeAdminSocket()
        for fd in sockets.values { close(fd) }
    }

    /// Tells the old process to stop accepting and drain (its usual graceful stop). It has stopped accepting when
    /// the answer comes.
    func finish() {
        _ = try? client.request(#"{"id":2,"cmd":"stop"}"#)
    }
}
