/// What the control socket and the admin API ask of the server hosting the engine (`SkiffServer`): stop, reload,
/// its state, and a binary upgrade's handover.
///
/// Thread-safe: called from control and admin threads.
public protocol ServerRuntime: AnyObject, Sendable {
    /// Where the server is in its life.
    var state: ServerState { get }
    /// The process's log level, when it can change at run time (nil: fixed, e.g. in tests).
    var runtimeLogLevel: RuntimeLogLevel? { get }
    /// Serving and fully configured (with a control plane: its first config is in): `GET /ready`, sd_notify.
    var isReady: Bool { get }
    /// A graceful stop (`now`: without the wait), as SIGTERM. Returns at once; the runtime thread stops the server.
    /// `replyGraceMs`: the asker's answer is still on its way out; the control socket stays open that long.
    func requestStop(now: Bool, by: String, replyGraceMs: Int)
    /// Re-reads and applies the config file, unless stopping or handing over to a new process.
    func reload(by: String) throws(EngineError) -> ReloadReport
    /// A binary upgrade's new process `pid` has been sent the listening sockets: reloads are refused while it
    /// lives.
    func handingOver(to pid: Int32)
}
