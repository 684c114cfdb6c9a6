import COpenSSL
import CSkiffTLS
import Synchronization

/// A listener's server contexts, one per certificate, picked by SNI: with one, every ClientHello gets it; with
/// several, the first whose certificate names (`X509_check_host`: DNS SANs, else CN, wildcards in the leftmost
/// label) or configured `server_name` match; no SNI gets the first; an SNI that matches none is refused with
/// `unrecognized_name` (MOSN would serve the first certificate). Immutable; shared by all threads.
public final class TLSServerContexts: @unchecked Sendable {
    public let all: [TLSContext]
    var primary: TLSContext { all[0] }

    public init(_ settings: [TLSSettings]) throws(TLSSetupError) {
        precondition(!settings.isEmpty, "a TLS listener has at least one context")
        var built: [TLSContext] = []
        for s in settings { built.append(try TLSContext(s)) }
        all = built
        if built.count > 1 {
            let me = Unmanaged.passUnretained(self).toOpaque()
            for c in built { skiff_ssl_ctx_set_servername_cb(c.ctx, TLSServerContexts.pickBySNI, me) }
        }
    }

    /// The context for `name` (lower-cased, no trailing dot), nil when none matches.
    func context(for name: String) -> TLSContext? {
        all.first { c in
            if let n = c.settings.serverName, n.lowercased() == name { return true }
            guard let leaf = c.leaf else { return false }
            return skiff_x509_matches_host(leaf, name) == 1
        }
    }

    private static let pickBySNI: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?)
        -> Int32 = { ssl, alert, arg in
            guard let ssl, let arg else { return SSL_TLSEXT_ERR_OK }
            guard let raw = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return SSL_TLSEXT_ERR_OK }
            var name = String(cString: raw).lowercased()
            while name.hasSuffix(".") { name.removeLast() }
            let me = Unmanaged<TLSServerContexts>.fromOpaque(arg).takeUnretainedValue()
            guard let chosen = me.context(for: name) else {
                TLSSession.of(ssl)?.refusedSNI = String(name.prefix(253))
                alert?.pointee = SSL_AD_UNRECOGNIZED_NAME
                return SSL_TLSEXT_ERR_ALERT_FATAL
            }
            if chosen !== me.primary {
                _ = SSL_set_SSL_CTX(ssl, chosen.ctx)
                SSL_set_verify(ssl, SSL_CTX_get_verify_mode(chosen.ctx), SSL_CTX_get_verify_callback(chosen.ctx))
            }
            return SSL_TLSEXT_ERR_OK
        }
}

/// How a listener speaks TLS: its contexts (replaced by a reload that changes certificates: new connections get the
/// new ones, open ones keep theirs), `inspector`, and its counters, which outlive reloads.
public final class TLSServerEndpoint: Sendable {
    private let current: Mutex<TLSServerContexts>
    public let inspector: Bool
    public let stats: TLSStats

    public init(contexts: TLSServerContexts, inspector: Bool, stats: TLSStats) {
        current = Mutex(contexts)
        self.inspector = inspector
        self.stats = stats
    }

    /// The contexts a new connection uses (read once per accepted connection).
    public var contexts: TLSServerContexts { current.withLock { $0 } }

    /// Swaps in new contexts (a reload); connections already open keep the ones they started with.
    public func replace(_ contexts: TLSServerContexts) { current.withLock { $0 = contexts } }
}

/// How a cluster's upstream connections (and health checks) speak TLS: the client context, the cluster's counters,
/// and the last session each host gave (a connection that follows resumes it: no full handshake to an upstream the
/// cluster already knows). A TLS 1.3 ticket is used once, so a session is taken out when offered; the server's new
/// ticket replaces it. One entry per host; any thread (taken when a connection opens, not per request).
public final class TLSClientEndpoint: @unchecked Sendable {
    public let context: TLSContext
    public let stats: TLSStats
    /// An `SSL_SESSION *` and the one reference the cache holds on it.
    private struct SessionRef: @unchecked Sendable { let pointer: OpaquePointer }
    /// Sessions by host address.
    private let sessions = Mutex<[String: SessionRef]>([:])

    public init(context: TLSContext, stats: TLSStats) {
        self.context = context
        self.stats = stats
    }

    deinit { sessions.withLock { for s in $0.values { SSL_SESSION_free(s.pointer) } } }

    /// The session to offer `peer`, handed over with its reference (the caller frees it); nil when none.
    func takeSession(for peer: String) -> OpaquePointer? {
        sessions.withLock { $0.removeValue(forKey: peer)?.pointer }
    }

    /// Keeps `session` (its reference) for the next connection to `peer`, replacing an older one.
    func keepSession(_ session: OpaquePointer, for peer: String) {
        let old = sessions.withLock { $0.updateValue(SessionRef(pointer: session), forKey: peer)?.pointer }
        if let old { SSL_SESSION_free(old) }
    }
}
