import COpenSSL
import CSkiffTLS
import Glibc
import Synchronization

/// One connection's OpenSSL session on the connection's socket (a socket BIO: no copy between OpenSSL and the
/// kernel). The phase moves sniffing (inspector listeners) -> handshaking -> established, or the connection closes.
///
/// Threads: netpoll drives it on the connection's poller only. rwloop shares it between the reader and the writer
/// thread, which is why every OpenSSL call goes through `withSSL` (a lock taken only under rwloop; the socket is
/// non-blocking there too, so the lock is never held while waiting).
final class TLSSession: @unchecked Sendable {
    enum Phase: Equatable { case sniffing, handshaking, established }

    enum Step { case done, wantRead, wantWrite, failed(TLSFailureReason, String) }
    enum IO { case bytes(Int), wantRead, wantWrite, eof, failed(String) }

    let ssl: OpaquePointer
    let stats: TLSStats
    let handshakeTimeoutNs: UInt64
    let isServer: Bool
    /// Keeps the contexts (and the SNI callback's argument) alive as long as the session.
    private let owner: AnyObject
    private let serialize: Bool
    private let sslLock = Mutex<Void>(())

    var phase: Phase
    /// Set by the SNI callback to the name it refused (the handshake error alone would say "callback failed").
    var refusedSNI: String?
    /// A read stopped because OpenSSL had to write first (a post-handshake message): read again when writable.
    var readWantsWrite = false
    /// Coalescing buffer for small queued writes, one record's worth (allocated on first use).
    private var scratch: UnsafeMutableRawPointer?
    static let recordSize = 16384

    private init(
        ssl: OpaquePointer, stats: TLSStats, timeoutNs: UInt64, server: Bool, owner: AnyObject, serialize: Bool,
        phase: Phase
    ) {
        self.ssl = ssl
        self.stats = stats
        self.handshakeTimeoutNs = timeoutNs
        self.isServer = server
        self.owner = owner
        self.serialize = serialize
        self.phase = phase
    }

    /// A server session on an accepted socket; nil when OpenSSL cannot make one (counted as a failure by the caller).
    static func server(_ endpoint: TLSServerEndpoint, fd: Int32, serialize: Bool) -> TLSSession? {
        let contexts = endpoint.contexts
        guard let ssl = SSL_new(contexts.primary.ctx) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        let s = TLSSession(
            ssl: ssl, stats: endpoint.stats, timeoutNs: contexts.primary.settings.handshakeTimeoutNs, server: true,
            owner: contexts, serialize: serialize, phase: endpoint.inspector ? .sniffing : .handshaking)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(s).toOpaque())
        return s
    }

    /// A client session on a connecting socket: SNI and the name to check come from the endpoint.
    /// `peer` keys the endpoint's session cache: a session (ticket) from the last connection to it is offered.
    static func client(_ endpoint: TLSClientEndpoint, fd: Int32, peer: String, serialize: Bool) -> TLSSession? {
        let context = endpoint.context
        guard let ssl = SSL_new(context.ctx) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        if let cached = endpoint.takeSession(for: peer) {
            _ = SSL_set_session(ssl, cached)
            SSL_SESSION_free(cached)
        }
        let s = context.settings
        if let name = s.serverName, !name.isEmpty {
            let isIP = SocketAddress(ip: name, port: 0) != nil
            if !isIP { _ = skiff_ssl_set_sni(ssl, name) }
            if !s.insecureSkip {
                if isIP {
                    _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
                } else {
                    _ = SSL_set1_host(ssl, name)
                }
            }
        }
        let session = TLSSession(
            ssl: ssl, stats: endpoint.stats, timeoutNs: s.handshakeTimeoutNs, server: false, owner: context,
            serialize: serialize, phase: .handshaking)
        session.sessionCache = (endpoint, peer)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(session).toOpaque())
        return session
    }

    /// Clients: where a new session from the server is kept (the cluster's endpoint, by host).
    private var sessionCache: (endpoint: TLSClientEndpoint, peer: String)?

    /// OpenSSL's new-session callback for clients: the session goes to the endpoint's cache for this host.
    static let keepClientSession: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32 = { ssl, session in
        guard let ssl, let session, let me = TLSSession.of(ssl), let (endpoint, peer) = me.sessionCache,
            let copy = SSL_SESSION_dup(session)
        else { return 0 }
        // A copy: OpenSSL marks the connection's own session not resumable when that connection ends without
        // close_notify (an upstream that just closes), which must not spoil the one kept for the next connection.
        endpoint.keepSession(copy, for: peer)
        return 0  // OpenSSL keeps (and frees) its own
    }

    deinit {
        SSL_free(ssl)
        scratch?.deallocate()
    }

    @inline(__always) private func withSSL<T>(_ body: () -> T) -> T {
        serialize ? sslLock.withLock { _ in body() } : body()
    }

    /// The session a callback is running for.
    static func of(_ ssl: OpaquePointer) -> TLSSession? {
        SSL_get_ex_data(ssl, 0).map { Unmanaged<TLSSession>.fromOpaque($0).takeUnretainedValue() }
    }

    // MARK: - Handshake

    func handshake() -> Step {
        withSSL {
            let r = SSL_do_handshake(ssl)
            if r == 1 { return .done }
            switch SSL_get_error(ssl, r) {
            case SSL_ERROR_WANT_READ: return .wantRead
            case SSL_ERROR_WANT_WRITE: return .wantWrite
            default:
                let (reason, detail) = classifyFailure()
                return .failed(reason, detail)
            }
        }
    }

    /// Why the handshake failed: our verification of the peer first, then OpenSSL's reason.
    private func classifyFailure() -> (TLSFailureReason, String) {
        let sysErrno = errno
        var buf = [CChar](repeating: 0, count: 256)
        let e = skiff_err_pop(&buf, Int32(buf.count))
        let text = e == 0 ? (sysErrno != 0 ? String(cString: strerror(sysErrno)) : "connection closed") : TLSContext.text(buf)
        if let name = refusedSNI { return (.unknownSNI, "no certificate for \"\(name)\"") }
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK {
            let why = String(cString: X509_verify_cert_error_string(verify))
            let expired = verify == X509_V_ERR_CERT_HAS_EXPIRED || verify == X509_V_ERR_CERT_NOT_YET_VALID
            return (expired ? .expiredCertificate : .untrustedCertificate, why)
        }
        if e == 0 { return (.peerClosed, text) }
        switch Int32(e & 0x7F_FFFF) {
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED: return (.noCertificate, text)
        case SSL_R_HTTP_REQUEST, SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_WRONG_SSL_VERSION:
            return (.notTLS, text)
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_NO_SHARED_CIPHER, SSL_R_NO_SHARED_GROUPS, SSL_R_NO_PROTOCOLS_AVAILABLE,
            SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
            return (.noSharedParameters, text)
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
            SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
            SSL_R_TLSV1_ALERT_DECRYPT_ERROR, SSL_R_TLSV1_ALERT_ACCESS_DENIED:
            return (.peerRejected, text)
        case SSL_R_TLSV1_UNRECOGNIZED_NAME: return (.unknownSNI, text)
        case SSL_R_UNEXPECTED_EOF_WHILE_READING: return (.peerClosed, text)
        default: return (.other, text)
        }
    }

    /// What the finished handshake agreed on (called once, after `.done`).
    func connectionInfo() -> TLSConnectionInfo {
        withSSL {
            let version = String(cString: SSL_get_version(ssl))
            let cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? ""
            let sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) } ?? ""
            var alpnPtr: UnsafePointer<UInt8>?
            var alpnLen: UInt32 = 0
            SSL_get0_alpn_selected(ssl, &alpnPtr, &alpnLen)
            let alpn = alpnPtr.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(alpnLen)), as: UTF8.self) } ?? ""
            var cn = "", sans = ""
            if let peer = SSL_get0_peer_certificate(ssl) {
                var buf = [CChar](repeating: 0, count: 512)
                if skiff_x509_common_name(peer, &buf, Int32(buf.count)) > 0 { cn = TLSContext.text(buf) }
                if skiff_x509_san_text(peer, &buf, Int32(buf.count)) > 0 { sans = TLSContext.text(buf) }
            }
            return TLSConnectionInfo(
                version: version, cipher: cipher, serverName: sni, alpn: alpn, resumed: SSL_session_reused(ssl) == 1,
                peerCommonName: cn, peerSANs: sans)
        }
    }

    // MARK: - Data

    /// Decrypts into `b` until it is full (`.bytes`) or something stops it: the bytes added are in `b`, the returned
    /// value says why it stopped (`.wantRead` is the usual end: the socket is drained).
    func fill(_ b: ByteBuffer) -> IO {
        withSSL {
            while b.writableBytes > 0 {
                let r = SSL_read(ssl, b.writePointer, Int32(min(b.writableBytes, Int(Int32.max))))
                guard r > 0 else { return ioOutcome(r) }
                b.writerIndex += Int(r)
            }
            return .bytes(b.readableBytes)
        }
    }

    /// Encrypts at most a few records of `iov` (the queued buffers): the first buffer directly when it holds a
    /// record or more, else as many buffers as fit one record copied together, so small writes of one flush leave
    /// as one record. Returns the plaintext bytes taken. Retries after `wantWrite` see the same leading bytes (the
    /// queue only grows at its end), as OpenSSL requires.
    func write(_ iov: UnsafeMutablePointer<iovec>, count: Int) -> IO {
        let first = iov[0]
        let r: Int32
        if first.iov_len >= TLSSession.recordSize || count == 1 {
            r = withSSL { SSL_write(ssl, first.iov_base, Int32(min(first.iov_len, 1 << 20))) }
        } else {
            let buf = scratch ?? UnsafeMutableRawPointer.allocate(byteCount: TLSSession.recordSize, alignment: 16)
            scratch = buf
            var used = 0
            for i in 0..<count where used < TLSSession.recordSize {
                let take = min(iov[i].iov_len, TLSSession.recordSize - used)
                (buf + used).copyMemory(from: iov[i].iov_base!, byteCount: take)
                used += take
            }
            r = withSSL { SSL_write(ssl, buf, Int32(used)) }
        }
        if r > 0 {
            stats.writes.wrappingAdd(1, ordering: .relaxed)
            stats.records.wrappingAdd(UInt64((Int(r) + TLSSession.recordSize - 1) / TLSSession.recordSize), ordering: .relaxed)
            return .bytes(Int(r))
        }
        return withSSL { ioOutcome(r) }
    }

    private func ioOutcome(_ r: Int32) -> IO {
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .eof
        case SSL_ERROR_SYSCALL:
            let e = errno
            ERR_clear_error()
            return e == 0 ? .eof : .failed(String(cString: strerror(e)))
        default:
            var buf = [CChar](repeating: 0, count: 256)
            _ = skiff_err_pop(&buf, Int32(buf.count))
            return .failed(TLSContext.text(buf))
        }
    }

    /// Sends close_notify once, without waiting for the peer's (the socket closes next).
    func sendCloseNotify() {
        withSSL {
            if SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN == 0 {
                _ = SSL_shutdown(ssl)
                ERR_clear_error()
            }
        }
    }
}
