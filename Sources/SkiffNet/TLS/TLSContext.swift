import COpenSSL
import CSkiffTLS
import Glibc

/// One OpenSSL `SSL_CTX` built from `TLSSettings`: certificate and key (checked to match), trust store, verification
/// mode, versions, ciphers, groups, ALPN, session tickets (servers). Immutable once built and shared by every thread
/// that opens sessions from it (OpenSSL allows concurrent `SSL_new` on one context).
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    public let settings: TLSSettings
    /// The leaf certificate (servers; clients with a certificate), for SNI matching and telemetry.
    let leaf: OpaquePointer?
    /// ALPN in wire format (length-prefixed names).
    let alpnWire: [UInt8]
    /// When the leaf certificate expires (seconds since the epoch), nil without one.
    public let leafNotAfter: Int64?

    public init(_ s: TLSSettings) throws(TLSSetupError) {
        settings = s
        guard let method = s.role == .server ? TLS_server_method() : TLS_client_method(), let ctx = SSL_CTX_new(method)
        else { throw TLSSetupError(path: s.path, message: "OpenSSL could not create a context: \(TLSContext.lastError())") }
        self.ctx = ctx
        var wire: [UInt8] = []
        for p in s.alpn {
            wire.append(UInt8(p.utf8.count))
            wire.append(contentsOf: p.utf8)
        }
        alpnWire = wire
        var leaf: OpaquePointer?
        do {
            skiff_ssl_ctx_set_defaults(ctx, s.role == .server ? 1 : 0)
            try TLSContext.setVersions(ctx, s)
            try TLSContext.setCiphers(ctx, s)
            try TLSContext.setCurves(ctx, s)
            leaf = try TLSContext.loadIdentity(ctx, s)
            try TLSContext.loadTrust(ctx, s)
        } catch {
            if let leaf { X509_free(leaf) }
            SSL_CTX_free(ctx)
            throw error
        }
        self.leaf = leaf
        leafNotAfter = leaf.flatMap { TLSContext.notAfter($0) }
        setVerification()
        if s.role == .server {
            let sid = Array(s.path.utf8.prefix(32))
            _ = sid.withUnsafeBufferPointer { skiff_ssl_ctx_enable_tickets(ctx, $0.baseAddress, UInt32($0.count)) }
            if !alpnWire.isEmpty {
                SSL_CTX_set_alpn_select_cb(ctx, TLSContext.selectALPN, Unmanaged.passUnretained(self).toOpaque())
            }
        } else {
            skiff_ssl_ctx_enable_client_sessions(ctx, TLSSession.keepClientSession)
            if !alpnWire.isEmpty {
                _ = alpnWire.withUnsafeBufferPointer { SSL_CTX_set_alpn_protos(ctx, $0.baseAddress, UInt32($0.count)) }
            }
        }
    }

    deinit {
        if let leaf { X509_free(leaf) }
        SSL_CTX_free(ctx)
    }

    // MARK: - Building

    private static func setVersions(_ ctx: OpaquePointer, _ s: TLSSettings) throws(TLSSetupError) {
        func code(_ v: Int) -> Int32 { v >= 13 ? Int32(TLS1_3_VERSION) : Int32(TLS1_2_VERSION) }
        guard s.minVersion <= s.maxVersion else {
            throw TLSSetupError(path: s.path + ".min_version", message: "min_version is above max_version")
        }
        _ = skiff_ssl_ctx_set_min_version(ctx, code(s.minVersion))
        _ = skiff_ssl_ctx_set_max_version(ctx, code(s.maxVersion))
    }

    /// Each name is tried alone first, so an unknown one is named (OpenSSL accepts a list if any one name matches).
    private static func setCiphers(_ ctx: OpaquePointer, _ s: TLSSettings) throws(TLSSetupError) {
        guard !s.cipherSuites.isEmpty else { return }
        let tls13 = s.cipherSuites.filter { $0.hasPrefix("TLS_") }
        let tls12 = s.cipherSuites.filter { !$0.hasPrefix("TLS_") }
        for name in tls13 where SSL_CTX_set_ciphersuites(ctx, name) != 1 {
            _ = lastError()
            throw TLSSetupError(path: s.path + ".cipher_suites", message: "unknown TLS 1.3 cipher suite \"\(name)\"")
        }
        for name in tls12 where SSL_CTX_set_cipher_list(ctx, name) != 1 {
            _ = lastError()
            throw TLSSetupError(path: s.path + ".cipher_suites", message: "unknown cipher \"\(name)\"")
        }
        if !tls13.isEmpty { _ = SSL_CTX_set_ciphersuites(ctx, tls13.joined(separator: ":")) }
        if !tls12.isEmpty { _ = SSL_CTX_set_cipher_list(ctx, tls12.joined(separator: ":")) }
        if tls12.isEmpty && s.minVersion <= 12 {
            // Only TLS 1.3 suites named: TLS 1.2 would be left with OpenSSL's defaults, which the operator did not ask for.
            _ = SSL_CTX_set_cipher_list(ctx, "")
            _ = lastError()
        }
    }

    private static func setCurves(_ ctx: OpaquePointer, _ s: TLSSettings) throws(TLSSetupError) {
        guard !s.curves.isEmpty else { return }
        for name in s.curves where skiff_ssl_ctx_set_groups(ctx, name) != 1 {
            _ = lastError()
            throw TLSSetupError(path: s.path + ".ecdh_curves", message: "unknown curve \"\(name)\"")
        }
        _ = skiff_ssl_ctx_set_groups(ctx, s.curves.joined(separator: ":"))
    }

    /// Loads the certificate chain and key; returns the leaf (retained).
    private static func loadIdentity(_ ctx: OpaquePointer, _ s: TLSSettings) throws(TLSSetupError) -> OpaquePointer? {
        guard let chain = s.certChainPEM, let key = s.privateKeyPEM else {
            if s.role == .server {
                throw TLSSetupError(path: s.path + ".cert_chain", message: "a listener needs cert_chain and private_key")
            }
            return nil
        }
        let certs = readCertificates(chain)
        guard let leaf = certs.first else {
            throw TLSSetupError(path: s.path + ".cert_chain", message: "no PEM certificate found")
        }
        defer { for c in certs.dropFirst() { X509_free(c) } }
        guard SSL_CTX_use_certificate(ctx, leaf) == 1 else {
            let why = lastError()
            X509_free(leaf)
            throw TLSSetupError(path: s.path + ".cert_chain", message: "certificate refused: \(why)")
        }
        for c in certs.dropFirst() { _ = SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, UnsafeMutableRawPointer(c)) }
        guard let pkey = readPrivateKey(key) else {
            X509_free(leaf)
            throw TLSSetupError(path: s.path + ".private_key", message: "no PEM private key found (\(lastError()))")
        }
        defer { EVP_PKEY_free(pkey) }
        guard SSL_CTX_use_PrivateKey(ctx, pkey) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
            _ = lastError()
            X509_free(leaf)
            throw TLSSetupError(path: s.path + ".private_key", message: "the private key does not match cert_chain")
        }
        return leaf
    }

    private static func loadTrust(_ ctx: OpaquePointer, _ s: TLSSettings) throws(TLSSetupError) {
        guard let pem = s.caPEM else {
            if s.role == .client || s.verifyClient { _ = SSL_CTX_set_default_verify_paths(ctx) }
            return
        }
        let cas = readCertificates(pem)
        guard !cas.isEmpty else {
            throw TLSSetupError(path: s.path + ".ca_cert", message: "no PEM certificate found")
        }
        let store = SSL_CTX_get_cert_store(ctx)
        for ca in cas {
            _ = X509_STORE_add_cert(store, ca)
            if s.role == .server { _ = SSL_CTX_add_client_CA(ctx, ca) }
            X509_free(ca)
        }
    }

    private func setVerification() {
        let s = settings
        switch s.role {
        case .server:
            if s.verifyClient {
                let fail = s.requireClientCert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | fail, nil)
            } else if s.requireClientCert {
                // MOSN's RequestClientCert: asked for, neither required nor checked.
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, TLSContext.acceptAny)
            } else {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
            }
        case .client:
            SSL_CTX_set_verify(ctx, s.insecureSkip ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)
        }
    }

    private static let acceptAny: @convention(c) (Int32, OpaquePointer?) -> Int32 = { _, _ in 1 }

    /// Picks the first of the server's protocols the client offers; none in common: no ALPN (the handshake goes on).
    private static let selectALPN:
        @convention(c) (
            OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
            UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
        ) -> Int32 = { _, out, outLen, offered, offeredLen, arg in
            guard let arg else { return SSL_TLSEXT_ERR_NOACK }
            let me = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
            return me.alpnWire.withUnsafeBufferPointer { server in
                var chosen: UnsafeMutablePointer<UInt8>?
                var chosenLen: UInt8 = 0
                let r = SSL_select_next_proto(
                    &chosen, &chosenLen, server.baseAddress, UInt32(server.count), offered, offeredLen)
                guard r == OPENSSL_NPN_NEGOTIATED, let chosen else { return SSL_TLSEXT_ERR_NOACK }
                // `chosen` points into `server`, which lives as long as the context.
                out?.pointee = UnsafePointer(chosen)
                outLen?.pointee = chosenLen
                return SSL_TLSEXT_ERR_OK
            }
        }

    // MARK: - PEM

    static func readCertificates(_ pem: [UInt8]) -> [OpaquePointer] {
        pem.withUnsafeBytes { raw -> [OpaquePointer] in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return [] }
            defer { BIO_free(bio) }
            var out: [OpaquePointer] = []
            while let c = PEM_read_bio_X509(bio, nil, nil, nil) { out.append(c) }
            ERR_clear_error()  // the loop ends on "no start line"
            return out
        }
    }

    static func readPrivateKey(_ pem: [UInt8]) -> OpaquePointer? {
        pem.withUnsafeBytes { raw -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
    }

    static func notAfter(_ cert: OpaquePointer) -> Int64? {
        guard let t = X509_get0_notAfter(cert) else { return nil }
        var tm = Glibc.tm()
        guard ASN1_TIME_to_tm(t, &tm) == 1 else { return nil }
        return Int64(timegm(&tm))
    }

    /// A NUL-terminated C buffer as a String.
    static func text(_ buf: [CChar]) -> String {
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// OpenSSL's first queued error as text (the queue is cleared).
    static func lastError() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        let e = skiff_err_pop(&buf, Int32(buf.count))
        return e == 0 ? "unknown error" : TLSContext.text(buf)
    }
}
