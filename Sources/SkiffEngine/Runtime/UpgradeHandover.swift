/// The new side of a binary upgrade (`skiff start --upgrade`): the old process's listening sockets, received over
/// its control socket before anything of this process listens. The CLI receives them (it owns the control socket
/// client); `SkiffServer` serves on them and, once it does, calls `finish` so the old process stops accepting and
/// drains.
///
/// Owned by the thread starting the server.
public protocol UpgradeHandover: AnyObject {
    /// The old process (it may hold the pid file; the new one takes it over).
    var oldPID: Int32 { get }
    /// Listening sockets by configured address (`127.0.0.1:12080`); the engine serves them instead of binding.
    var sockets: [String: Int32] { get }
    /// Whether the old process handed its admin API's socket over (an older skiff did not: the new admin API then
    /// shares the port with SO_REUSEPORT, as that skiff set it).
    var handedAdminSocket: Bool { get }
    /// The old admin API's socket when it listens on `address` (the caller owns it then); nil otherwise.
    func takeAdminSocket(address: String) -> Int32?
    /// Closes the admin socket if nobody took it (the new config moved the admin API, or has none).
    func closeAdminSocket()
    /// The old metrics sink's socket (MOSN's `metrics` prometheus sink) when it listens on `address` (the caller
    /// owns it then); nil otherwise.
    func takeMetricsSocket(address: String) -> Int32?
    /// Closes the metrics sink's socket if nobody took it.
    func closeMetricsSocket()
    /// Closes everything received (this process is not starting after all; the old one serves on).
    func closeUnused()
    /// Tells the old process to stop accepting and drain. Throws when it could not be told (it then still serves
    /// beside us, and must be stopped by hand).
    func finish() throws
}

extension UpgradeHandover {
    /// A handover without a metrics sink socket (an old process that had none).
    public func takeMetricsSocket(address: String) -> Int32? { nil }
    public func closeMetricsSocket() {}
}
