/// Splice mode's entry points (docs/architecture.md, "Splice mode"): a handler marks a direction, and the I/O thread
/// switches it on the first read that fills its buffer.
extension Connection {
    /// Lets this connection's incoming bytes go to `peer` by splice(2), through a pipe, once one read fills its
    /// buffer (a bulk transfer; small exchanges stay on one read and one writev, fewer calls than splicing in and
    /// out). The read that fills the buffer still reaches the handler; after it the handler hears no more reads, only
    /// EOF (once every byte before the FIN has reached `peer`'s socket), writability and the close. Bytes already
    /// queued on `peer` leave first. Counters stay as on the copying path: each splice from the socket counts as a
    /// read, each splice to `peer` as a writev of one buffer.
    ///
    /// For a filter that only forwards (tcp_proxy): once switched, nothing may be written to `peer` but by the route.
    /// Call it on the connection's handler thread once both are open. Does nothing (reads stay buffers) unless both
    /// connections are plain TCP (no TLS), run their handlers on their I/O thread (no worker pool, whose queued
    /// reads a splice could overtake), and share a poller (netpoll) or are both rwloop. A pipe the system refuses at
    /// the switch (EMFILE, ENFILE) is counted in `SpliceStats.pipeFailures` and the direction keeps copying.
    public func spliceWhenBulk(to peer: Connection) {
        guard spliceAllowed(to: peer) else { return }
        switch context {
        case .netpoll:
            splice.candidate = peer
        case .rwloop:
            // The other connection's handler may mark this one (tcp_proxy's upstream connects on its own thread,
            // while this reader waits, paused): under the lock, so a close racing with it either comes first (no
            // mark) or clears the mark when this reader leaves (`rwReleaseSplice`) — never a cycle left behind.
            lock.withLock { if state != .closed { splice.candidate = peer } }
        }
    }

    /// A read filled its buffer and `splice.candidate` is set: makes the route (once; nil, and no later attempt, when
    /// the peer is gone or no pipe could be made). On this connection's poller or reader thread.
    func startSplice() -> SpliceRoute? {
        guard let peer = splice.candidate else { return nil }
        splice.candidate = nil
        guard splice.reads == nil, spliceAllowed(to: peer) else { return nil }
        switch context {
        case .netpoll:
            guard let route = SpliceRoute(from: self, to: peer, nonblocking: true, duplicateDestination: false) else {
                return nil
            }
            splice.reads = route
            peer.splice.writes = route
            splice.active = true
            peer.splice.active = true
            return route
        case .rwloop:
            guard let route = SpliceRoute(from: self, to: peer, nonblocking: false, duplicateDestination: true) else {
                return nil
            }
            splice.reads = route
            return route
        }
    }

    /// Both ends qualify: plain sockets, open, inline handlers, and (netpoll) on the calling poller.
    private func spliceAllowed(to peer: Connection) -> Bool {
        guard peer !== self, workers == nil, peer.workers == nil, tls == nil, peer.tls == nil, fd >= 0, peer.fd >= 0,
            peer.splice.writes == nil
        else { return false }
        switch (context, peer.context) {
        case (.netpoll(let a), .netpoll(let b)):
            return a === b && a.inLoop && state == .open && peer.state == .open
        case (.rwloop, .rwloop):
            return currentState == .open && peer.currentState == .open
        default:
            return false
        }
    }
}
