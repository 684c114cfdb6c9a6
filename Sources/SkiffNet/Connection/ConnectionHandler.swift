import Glibc

/// Why a connection closed; shown in logs, events and counters.
public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    /// Both directions finished with FIN.
    case eof
    /// Closed by Skiff (a filter, a drain, shutdown).
    case local
    case readError(Int32)
    case writeError(Int32)
    case connectFailed(Int32)
    case connectTimeout
    case idleTimeout
    /// Refused at accept: the listener's `max_connections` was reached.
    case overLimit
    /// The peer sent something the protocol does not allow.
    case protocolError(String)
    /// The other side of a proxied pair went away.
    case peerClosed
    /// The TLS handshake failed (counted per listener or cluster by reason).
    case tlsHandshakeFailed(TLSFailureReason)
    /// TLS failed after the handshake (a bad record, an alert from the peer).
    case tlsError(String)

    public var description: String {
        switch self {
        case .eof: return "eof"
        case .local: return "local close"
        case .readError(let e): return "read error: \(String(cString: strerror(e)))"
        case .writeError(let e): return "write error: \(String(cString: strerror(e)))"
        case .connectFailed(let e): return "connect failed: \(String(cString: strerror(e)))"
        case .connectTimeout: return "connect timeout"
        case .idleTimeout: return "idle timeout"
        case .overLimit: return "over max_connections"
        case .protocolError(let s): return "protocol error: \(s)"
        case .peerClosed: return "peer closed"
        case .tlsHandshakeFailed(let r): return "tls handshake failed: \(r)"
        case .tlsError(let s): return "tls error: \(s)"
        }
    }
}

/// What a connection tells its owner. Which thread calls it depends on the thread model and is stated by
/// `Connection.callbackThread`: the poller (netpoll, workers 0), a worker shard fixed per connection (workers > 0),
/// the connection's strand (rwloop L7, workers 0: inline on whichever of its threads has the event, one at a time), or
/// the connection's reader/writer threads (rwloop tcp_proxy; then the handler must be thread-safe).
public protocol ConnectionHandler: AnyObject, Sendable {
    /// Bytes arrived. The handler now owns `buffer`: pass it on (`write`) or `release()` it.
    func connection(_ connection: Connection, didRead buffer: ByteBuffer)
    /// The peer finished sending (FIN). Reading has stopped; writing may go on.
    func connectionDidReadEOF(_ connection: Connection)
    /// An outbound connection is established.
    func connectionDidConnect(_ connection: Connection)
    /// The write queue crossed its limit (false) or drained below half of it (true).
    func connection(_ connection: Connection, writabilityChanged writable: Bool)
    /// The connection is closed; called exactly once, last.
    func connectionDidClose(_ connection: Connection, reason: CloseReason)
}

extension ConnectionHandler {
    public func connectionDidConnect(_ connection: Connection) {}
    public func connection(_ connection: Connection, writabilityChanged writable: Bool) {}
}
