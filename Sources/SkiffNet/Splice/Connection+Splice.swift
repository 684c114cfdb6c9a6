/// Splice mode's entry point for handlers (docs/architecture.md, "Splice mode"). Runs on the handler's thread.
extension Connection {
    /// From now on, bytes arriving on this connection go to `peer` by splice(2) through a pipe, never through user
    /// space: the handler hears no more reads from it, only EOF (once every byte before the FIN has reached `peer`'s
    /// socket), writability and the close. Bytes already queued on `peer` leave first. Counters stay as on the
    /// copying path: each splice from the socket counts as a read, each splice to `peer` as a write of one buffer.
    ///
    /// For a filter that only forwards (tcp_proxy): after this nothing may be written to `peer` but by this route.
    /// Call it from this connection's read callback. Returns false (reads go on as buffers) unless both connections
    /// are plain TCP (no TLS), open, and run their handlers inline on their I/O thread (no worker pool), on the same
    /// poller (netpoll) or both on rwloop, and a pipe could be made; a refusal is remembered, so later calls cost a
    /// few comparisons. A pipe refused by the system (EMFILE, ENFILE) is counted in `SpliceStats.pipeFailures`.
    @discardableResult
    public func spliceReads(to peer: Connection) -> Bool {
        if splice.reads != nil { return true }
        if splice.declined { return false }
        guard spliceAllowed(to: peer) else {
            splice.declined = true
            return false
        }
        switch context {
        case .netpoll:
            guard let route = SpliceRoute(from: self, to: peer, nonblocking: true, duplicateDestination: false) else {
                splice.declined = true
                return false
            }
            splice.reads = route
            peer.splice.writes = route
        case .rwloop:
            guard let route = SpliceRoute(from: self, to: peer, nonblocking: false, duplicateDestination: true) else {
                splice.declined = true
                return false
            }
            splice.reads = route
        }
        return true
    }

    /// Both ends qualify: plain sockets, open, inline handlers, and (netpoll) on the calling poller.
    private func spliceAllowed(to peer: Connection) -> Bool {
        guard peer !== self, workers == nil, peer.workers == nil, tls == nil, peer.tls == nil, fd >= 0, peer.fd >= 0,
            peer.splice.writes == nil
        else { return false }
        switch (context, peer.context) {
        case (.netpoll(let a), .netpoll(let b)):
            guard a === b, a.inLoop, state == .open, peer.state == .open else { return false }
            return true
        case (.rwloop, .rwloop):
            return currentState == .open && peer.currentState == .open
        default:
            return false
        }
    }
}
