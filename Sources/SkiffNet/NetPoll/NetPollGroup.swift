import Glibc

/// The netpoll thread model: N pollers, each an epoll loop on its own thread, sharing nothing on the hot path.
/// Listeners are registered on every poller; accepted connections are dealt round robin over the pollers (see
/// `Listener`), a connection stays on its poller, and its upstream connections are opened on the same poller.
public final class NetPollGroup: Sendable {
    public let pollers: [Poller]
    public let name: String

    /// Starts `count` pollers (default: one per core).
    public init(name: String = "netpoll", count: Int? = nil, bufferSize: Int = 64 * 1024) throws(SystemError) {
        let n = max(1, count ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.name = name
        var ps: [Poller] = []
        for i in 0..<n {
            ps.append(try Poller(index: i, name: "\(name)-p\(i)", pool: BufferPool(bufferSize: bufferSize)))
        }
        self.pollers = ps
        for p in ps { try p.start() }
    }

    /// Binds and starts accepting. Throws (nothing half-started) if the address cannot be bound.
    public func listen(_ options: ListenerOptions, delegate: any ListenerDelegate) throws(SystemError) -> Listener {
        let l = try Listener(options: options, model: .netpoll, pollerCount: pollers.count, delegate: delegate)
        l.handoffTargets = pollers
        for p in pollers {
            p.execute { _ = p.register(listener: l) }
        }
        return l
    }

    /// Stops accepting on `listener`; established connections go on.
    public func stopListening(_ l: Listener) {
        guard !l.stopping.exchange(true, ordering: .relaxed) else { return }
        for p in pollers {
            p.execute {
                p.deregister(listener: l)
                l.pollerReleased()
            }
        }
    }

    /// The poller a new outbound connection not tied to a downstream should use (round robin by a key).
    public func poller(for key: UInt64) -> Poller { pollers[Int(key % UInt64(pollers.count))] }

    /// Stops all pollers; their connections are closed (gracefully: TLS ones send close_notify). Waits, at most
    /// `waitMs`, until every poller has closed its connections (a poller sends close_notify before it counts a
    /// connection gone), so a process that exits next does not cut them first; called on one of the group's own
    /// pollers, it cannot wait and returns at once.
    public func shutdown(waitMs: Int = 1000) {
        for p in pollers { p.stop() }
        guard !pollers.contains(where: \.inLoop) else { return }
        var waited = 0
        while waited < waitMs && pollers.contains(where: { $0.registered.load(ordering: .acquiring) > 0 }) {
            usleep(1000)
            waited += 1
        }
    }
}
