import Glibc
import SkiffEngine

/// The new side of a binary upgrade: the old process's listening sockets, received over its control socket
/// (`upgrade.listeners`, SCM_RIGHTS). `SkiffServer` serves on them and calls `finish` once it does.
///
/// Owned by the thread running `skiff start --upgrade`.
final class Handover: UpgradeHandover {
    let client: ControlClient
    let oldPID: Int32
    /// By configured address (`127.0.0.1:12080`).
    let sockets: [String: Int32]
    /// The old admin API's socket and configured address, when it handed one over (a skiff older than this one
    /// does not; the new admin API then shares the port with SO_REUSEPORT, as that skiff set it).
    private var admin: (address: String, fd: Int32)?
    let handedAdminSocket: Bool
    /// The old metrics sink's socket and configured address, when it had one.
    private var metrics: (address: String, fd: Int32)?

    private init(
        client: ControlClient, oldPID: Int32, sockets: [String: Int32], admin: (address: String, fd: Int32)?,
        metrics: (address: String, fd: Int32)?
    ) {
        self.client = client
        self.oldPID = oldPID
        self.sockets = sockets
        self.admin = admin
        self.handedAdminSocket = admin != nil
        self.metrics = metrics
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
        var metrics: (address: String, fd: Int32)?
        for (l, fd) in zip(listeners, fds) {
            guard let address = l["address"]?.stringValue else {
                close(fd)
                continue
            }
            if l["admin"]?.boolValue == true {
                admin = (address, fd)
            } else if l["metrics"]?.boolValue == true {
                metrics = (address, fd)
            } else {
                sockets[address] = fd
            }
        }
        let pid = Int32(reply["pid"]?.number ?? 0)
        return Handover(client: c, oldPID: pid, sockets: sockets, admin: admin, metrics: metrics)
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

    /// The old metrics sink's socket when it listens on `address` (the caller owns it then); nil otherwise.
    func takeMetricsSocket(address: String) -> Int32? {
        guard let m = metrics, m.address == address else { return nil }
        metrics = nil
        return m.fd
    }

    /// Closes the metrics sink's socket if nobody took it.
    func closeMetricsSocket() {
        if let m = metrics { close(m.fd) }
        metrics = nil
    }

    /// Closes everything received (this process is not starting after all; the old one serves on).
    func closeUnused() {
        closeAdminSocket()
        closeMetricsSocket()
        for fd in sockets.values { close(fd) }
    }

    /// Tells the old process to stop accepting and drain (its usual graceful stop). It has stopped accepting when
    /// the answer comes.
    func finish() throws {
        _ = try client.request(#"{"id":2,"cmd":"stop"}"#)
    }
}
