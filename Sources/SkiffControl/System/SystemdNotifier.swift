import CSkiffLinux
import Glibc
import SkiffSystem
import Synchronization

/// systemd's notification protocol without libsystemd: datagrams of `KEY=VALUE` lines to the Unix socket named by
/// `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). `READY=1`, `RELOADING=1` (with
/// `MONOTONIC_USEC`), `STOPPING=1`, `STATUS=...`, and `WATCHDOG=1` from a thread of its own every half of
/// `$WATCHDOG_USEC` when that is set for this process (`$WATCHDOG_PID` absent or ours, or this process has become the
/// service's main process with `MAINPID=`).
///
/// A binary upgrade under systemd passes the service from one process to the next: the new one says `MAINPID=` its
/// pid before the old one stops (`becomeMainProcess`), and the old one falls silent (`handOver`) so that its drain
/// and exit do not read as the service stopping (no `STOPPING=1`, no more watchdog pings).
///
/// Threads: `send` from any thread (one `sendto` per message); the watchdog thread only sends.
public final class SystemdNotifier: @unchecked Sendable {  // immutable after init but for the atomic; fd only sent on
    private let fd: Int32
    private let address: sockaddr_un
    private let addressLength: socklen_t
    /// Half the watchdog interval, when systemd asked for pings.
    public let watchdogInterval: Duration?
    /// `$WATCHDOG_PID` was absent or names this process: the pings are asked of us from the start.
    private let watchdogIsOurs: Bool
    /// The service has passed to a successor: nothing more is sent.
    private let silenced = Atomic<Bool>(false)

    /// Nil when `NOTIFY_SOCKET` is absent (not started by systemd with `Type=notify`) or unusable.
    public static func fromEnvironment() -> SystemdNotifier? {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return nil }
        var watchdog: Duration?
        var ours = true
        if let usec = getenv("WATCHDOG_USEC").flatMap({ UInt64(String(cString: $0)) }), usec > 0 {
            let pid = getenv("WATCHDOG_PID").flatMap { Int32(String(cString: $0)) }
            ours = pid == nil || pid == getpid()
            watchdog = .microseconds(usec / 2)
        }
        return SystemdNotifier(path: path, watchdogInterval: watchdog, watchdogIsOurs: ours)
    }

    init?(path: String, watchdogInterval: Duration?, watchdogIsOurs: Bool = true) {
        self.watchdogIsOurs = watchdogIsOurs
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: a.sun_path)
        guard bytes.count < capacity, bytes.count > 1 || !abstract else { return nil }
        withUnsafeMutableBytes(of: &a.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        let base = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        // A path is NUL-terminated; an abstract name is exactly its bytes.
        addressLength = socklen_t(base + bytes.count + (abstract ? 0 : 1))
        address = a
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.watchdogInterval = watchdogInterval
    }

    deinit { close(fd) }

    /// Sends one message (lines joined by newlines); false when systemd's socket refused it.
    @discardableResult
    public func send(_ lines: [String]) -> Bool {
        guard !silenced.load(ordering: .relaxed) else { return false }
        let text = Array(lines.joined(separator: "\n").utf8)
        var a = address
        let sent = withUnsafePointer(to: &a) { ap in
            ap.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                text.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sp, addressLength) }
            }
        }
        return sent == text.count
    }

    public func ready(status: String) { send(["READY=1", "STATUS=\(status)"]) }

    public func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        send(["RELOADING=1", "MONOTONIC_USEC=\(UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000)"])
    }

    public func stopping(status: String) { send(["STOPPING=1", "STATUS=\(status)"]) }

    /// A binary upgrade's new process: from now on systemd tracks this process as the service's main one (the unit
    /// needs `NotifyAccess=all`, since the sender is not yet the main process).
    public func becomeMainProcess() { send(["MAINPID=\(getpid())", "STATUS=took over from a binary upgrade"]) }

    /// A binary upgrade's old process, once a successor holds its sockets: falls silent for good.
    public func handOver() { silenced.store(true, ordering: .relaxed) }

    /// The successor went away before taking over: this process speaks for the service again.
    public func resume() { silenced.store(false, ordering: .relaxed) }

    /// Starts the watchdog pings (when systemd asked for them of this process, or `asMainProcess`: it has said
    /// `MAINPID=`) on a thread that lives as long as the process. Silenced pings are skipped.
    public func startWatchdog(asMainProcess: Bool = false) throws(SystemError) {
        guard let interval = watchdogInterval, watchdogIsOurs || asMainProcess else { return }
        let us = UInt32(clamping: interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000)
        try NetThread.start(name: "skiff-watchdog", stackSize: 64 * 1024) { [self] in
            while true {
                send(["WATCHDOG=1"])
                usleep(max(us, 1000))
            }
        }
    }
}
