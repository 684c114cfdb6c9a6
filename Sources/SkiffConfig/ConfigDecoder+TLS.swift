import SkiffJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// MOSN's `tls_context`: a server context on a filter chain (`tls_context`, or each entry of `tls_context_set`), a
/// client context on a cluster (its own, or `cluster_manager.tls_context` with `cluster_manager_tls`); also the
/// listener's `inspector` and a host's `tls_disable`.
///
/// Shapes are checked here, and certificate files must exist and be readable now. What only OpenSSL can judge (a PEM
/// that parses, a key that fits its certificate, a cipher or curve it knows) waits for the engine, which reports it
/// with `TLSContextConfig.path`. Where Skiff differs from MOSN it refuses rather than guesses: `fall_back`, TLS 1.0
/// and 1.1, 3DES, ALPN names it does not speak, a client context that could check no server name.
extension ConfigDecoder {
    /// Which end of the connection a context serves: a listener is the server, a cluster the client.
    enum TLSSide {
        case server
        case client
    }

    /// A decoded `tls_context`: TLS on, off (`status` not true: plaintext, MOSN's default), or invalid (reported).
    enum TLSContextOutcome {
        case on(TLSContextConfig)
        case off
        case invalid
    }

    static let tlsContextUnsupported = ["sds_source", "extend_verify", "callbacks", "ticket"]
    static let tlsContextSchema = ObjectSchema(
        known: [
            "status", "type", "server_name", "ca_cert", "cert_chain", "private_key", "verify_client",
            "require_client_cert", "insecure_skip", "cipher_suites", "ecdh_curves", "min_version", "max_version",
            "alpn", "fall_back", "handshake_timeout",
        ],
        unsupported: tlsContextUnsupported, emptyAllowed: Set(tlsContextUnsupported),
        reasons: [
            "sds_source": "certificates from an SDS server; give cert_chain and private_key",
            "extend_verify": "settings for MOSN's extension context types; skiff has only the default type",
            "callbacks": "MOSN's extension hooks; skiff has none",
            "ticket": "MOSN stores it and never uses it; skiff rotates its own session-ticket keys",
        ])

    // MARK: - Listeners

    /// `filter_chains[0].tls_context` or `tls_context_set`: the server contexts with `"status": true`, in order;
    /// nil when none is on (MOSN's TCP sample writes `"tls_context": {}`, which is plaintext).
    mutating func listenerTLS(_ chain: Fields) -> ListenerTLSConfig? {
        var contexts: [TLSContextConfig] = []
        if let v = chain["tls_context"], case .on(let c) = tlsContext(v, at: chain.path("tls_context"), side: .server) {
            contexts.append(c)
        }
        for item in array(chain, "tls_context_set") ?? [] {
            if case .on(let c) = tlsContext(item.value, at: item.path, side: .server) { contexts.append(c) }
        }
        if chain.has("tls_context"), let set = chain["tls_context_set"], !set.isEmptyValue {
            fail(chain.path("tls_context_set"), "tls_context and tls_context_set are exclusive: give one of them")
            return nil
        }
        return contexts.isEmpty ? nil : ListenerTLSConfig(contexts: contexts)
    }

    /// The listener's `inspector`: with TLS on, plaintext is accepted beside it on the same port.
    mutating func applyInspector(_ f: Fields, to listener: inout ListenerConfig) {
        guard bool(f, "inspector") == true else { return }
        if listener.tls != nil {
            listener.tls?.inspector = true
        } else {
            warn(
                f.path("inspector"),
                "no effect: the listener has no tls_context with \"status\": true, so it is plaintext only (MOSN "
                    + "ignores it too)")
        }
    }

    // MARK: - Clusters

    /// A cluster's TLS: its own `tls_context`, or with `"cluster_manager_tls": true` the shared
    /// `cluster_manager.tls_context` (`shared`: nil when the cluster manager has none).
    mutating func clusterTLS(_ f: Fields, shared: TLSContextOutcome?) -> TLSContextConfig? {
        var own = TLSContextOutcome.off
        if let v = f["tls_context"] { own = tlsContext(v, at: f.path("tls_context"), side: .client) }
        guard bool(f, "cluster_manager_tls") == true else {
            if case .on(let c) = own { return c }
            return nil
        }
        if case .on = own {
            warn(
                f.path("tls_context"),
                "ignored: cluster_manager_tls is true, so this cluster uses cluster_manager.tls_context (as in MOSN)")
        }
        switch shared {
        case .on(let c)?:
            return c
        case .invalid?:
            break
        case .off?:
            fail(
                f.path("cluster_manager_tls"),
                "true, but cluster_manager.tls_context is off (no \"status\": true); the cluster would be plaintext")
        case nil:
            fail(f.path("cluster_manager_tls"), "true, but cluster_manager has no tls_context")
        }
        return nil
    }

    /// A shared client context no cluster refers to is said once: its certificates would never be used.
    mutating func checkSharedTLSUsed(_ shared: TLSContextOutcome?, by clusters: [ClusterConfig], at path: String) {
        guard case .on(let c)? = shared, !clusters.contains(where: { $0.tls?.path == c.path }) else { return }
        warn(path, "no cluster sets \"cluster_manager_tls\": true, so no connection uses this context")
    }

    // MARK: - One context

    /// Decodes one `tls_context`. A context without `"status": true` is off: only its keys are checked (a typo is
    /// still an error), and when it has content but no `status` at all a warning says it is plaintext.
    mutating func tlsContext(_ v: JSONValue, at path: String, side: TLSSide) -> TLSContextOutcome {
        guard let f = fields(v, at: path, Self.tlsContextSchema) else { return .invalid }
        guard f.has("status") else {
            if !f.values.isEmpty {
                warn(
                    path,
                    "no \"status\": true, so this context is off and connections are plaintext (MOSN's default); "
                        + "add \"status\": true to use TLS")
            }
            return .off
        }
        guard let status = bool(f, "status") else { return .invalid }
        guard status else { return .off }

        var context = TLSContextConfig(path: path)
        if let type = string(f, "type"), !type.isEmpty {
            fail(f.path("type"), "\(quoted(type)) not supported by skiff (only the default type \"\" is)")
        }
        certificateAndKey(f, side: side, into: &context)
        if let ca = nonEmptyString(f, "ca_cert") { context.caCert = pemSource(ca, at: f.path("ca_cert")) }
        context.verifyClient = bool(f, "verify_client") ?? false
        context.requireClientCert = bool(f, "require_client_cert") ?? false
        context.serverName = nonEmptyString(f, "server_name")
        context.insecureSkip = bool(f, "insecure_skip") ?? false
        context.cipherSuites = cipherSuites(f)
        context.ecdhCurves = ecdhCurves(f)
        versions(f, into: &context)
        context.alpn = alpn(f)
        if bool(f, "fall_back") == true {
            fail(
                f.path("fall_back"),
                "true is not supported: skiff never falls back to plaintext (MOSN serves plaintext when the "
                    + "certificates fail to load); fix the certificates, or set \"status\": false for plaintext")
        }
        context.handshakeTimeout = duration(f, "handshake_timeout", positive: true) ?? context.handshakeTimeout
        checkSide(f, side, context)
        return .on(context)
    }

    /// What only one end uses: client-only fields on a listener and server-only ones on a cluster are accepted with
    /// a warning (MOSN ignores them); a client that could check no name is refused (MOSN fails every handshake).
    private mutating func checkSide(_ f: Fields, _ side: TLSSide, _ c: TLSContextConfig) {
        switch side {
        case .server:
            if c.insecureSkip {
                warn(
                    f.path("insecure_skip"),
                    "no effect on a listener: it skips checking the server's certificate, and here skiff is the "
                        + "server (MOSN ignores it too)")
            }
        case .client:
            for (name, on) in [("verify_client", c.verifyClient), ("require_client_cert", c.requireClientCert)] where on
            {
                warn(
                    f.path(name),
                    "no effect on a cluster: it asks clients for a certificate, and here skiff is the client (MOSN "
                        + "ignores it too)")
            }
            if c.serverName == nil && !c.insecureSkip {
                fail(
                    f.path("server_name"),
                    "server_name is required to check the server's certificate (or insecure_skip: true)")
            }
        }
    }

    /// `cert_chain` and `private_key`: required on a listener, optional but together on a cluster. As in MOSN they
    /// are inline PEM only when both contain `-----BEGIN`; one inline and one path is refused.
    private mutating func certificateAndKey(_ f: Fields, side: TLSSide, into c: inout TLSContextConfig) {
        let chain = nonEmptyString(f, "cert_chain")
        let key = nonEmptyString(f, "private_key")
        switch side {
        case .server:
            if chain == nil { fail(f.path("cert_chain"), "required on a listener: the certificate skiff presents") }
            if key == nil { fail(f.path("private_key"), "required on a listener: the certificate's private key") }
        case .client:
            if (chain == nil) != (key == nil) {
                let (missing, given) = chain == nil ? ("cert_chain", "private_key") : ("private_key", "cert_chain")
                fail(f.path(missing), "required with \(given): a client certificate and its key go together")
            }
        }
        if let chain, let key, Self.isInlinePEM(chain) != Self.isInlinePEM(key) {
            let (inline, file) = Self.isInlinePEM(chain) ? ("cert_chain", "private_key") : ("private_key", "cert_chain")
            fail(
                f.path(inline),
                "inline PEM while \(file) is a file path: give both inline or both as file paths (MOSN reads them "
                    + "inline only when both are)")
        }
        if let chain { c.certChain = pemSource(chain, at: f.path("cert_chain")) }
        if let key { c.privateKey = pemSource(key, at: f.path("private_key")) }
    }

    // MARK: - PEM sources and files

    /// MOSN's rule: a value containing `-----BEGIN` is PEM text, anything else a file path.
    static func isInlinePEM(_ value: String) -> Bool { value.contains("-----BEGIN") }

    /// Inline PEM as written, or a file path checked to be readable now (its content is OpenSSL's to judge).
    private mutating func pemSource(_ value: String, at path: String) -> PEMSource {
        if Self.isInlinePEM(value) { return .inline(value) }
        if let problem = Self.unreadableReason(value) {
            fail(path, "cannot read \(quoted(value, limit: 200)): \(problem)")
        }
        return .file(value)
    }

    /// Why a certificate or key file cannot be read, or nil when it can. Only a regular file is opened, and closed at
    /// once: opening a FIFO could block `validate` and opening a device could have side effects.
    static func unreadableReason(_ file: String) -> String? {
        var st = stat()
        guard stat(file, &st) == 0 else {
            let code = errno
            guard code == ENOENT else { return errnoText(code) }
            guard !file.hasPrefix("/"), let cwd = workingDirectory() else { return "no such file" }
            return "no such file (a relative path is read from the working directory, \(cwd))"
        }
        if let kind = nonRegularKind(st.st_mode) { return "not a regular file (\(kind))" }
        let fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return errnoText(errno) }
        close(fd)
        return st.st_size == 0 ? "the file is empty" : nil
    }

    private static func workingDirectory() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A string field where `""` means unset, as in MOSN.
    private mutating func nonEmptyString(_ f: Fields, _ name: String) -> String? {
        guard let s = string(f, name), !s.isEmpty else { return nil }
        return s
    }

    // MARK: - Lists: ciphers, curves, ALPN

    /// MOSN's cipher names whose OpenSSL spelling differs. The last two are TLS 1.3 suites in MOSN (in OpenSSL's
    /// spelling, `AES256-GCM-SHA384` would be a TLS 1.2 suite with RSA key exchange).
    static let mosnCipherNames: [String: String] = [
        "ECDHE-ECDSA-WITH-CHACHA20-POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-WITH-CHACHA20-POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES256-CBC-SHA": "ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-CBC-SHA": "ECDHE-RSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-CBC-SHA": "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-CBC-SHA": "ECDHE-ECDSA-AES128-SHA",
        "RSA-AES256-CBC-SHA": "AES256-SHA", "RSA-AES128-CBC-SHA": "AES128-SHA",
        "AES256-GCM-SHA384": "TLS_AES_256_GCM_SHA384", "AES128-GCM-SHA256": "TLS_AES_128_GCM_SHA256",
    ]

    /// `cipher_suites`, `:`-separated: MOSN's names translated to OpenSSL's, 3DES refused, other names kept as
    /// written for OpenSSL to check.
    private mutating func cipherSuites(_ f: Fields) -> [String] {
        var out: [String] = []
        for name in entries(f, "cipher_suites", separator: ":") {
            let upper = name.uppercased()
            if upper.contains("3DES") || upper.contains("DES-CBC3") {
                fail(f.path("cipher_suites"), "\(quoted(name)): 3DES is insecure (Sweet32) and not supported")
                continue
            }
            out.append(Self.mosnCipherNames[upper] ?? name)
        }
        return out
    }

    /// Accepted `ecdh_curves` names (case-insensitive) and OpenSSL's spelling of each.
    static let curveNames: [(String, String)] = [
        ("x25519", "X25519"), ("p256", "P-256"), ("p384", "P-384"), ("p521", "P-521"), ("x448", "X448"),
        ("p-256", "P-256"), ("p-384", "P-384"), ("p-521", "P-521"), ("prime256v1", "P-256"),
        ("secp384r1", "P-384"), ("secp521r1", "P-521"),
    ]

    /// `ecdh_curves`, `,`-separated, MOSN's names (`p256`) or OpenSSL's (`P-256`); each at most once.
    private mutating func ecdhCurves(_ f: Fields) -> [String] {
        var out: [String] = []
        for name in entries(f, "ecdh_curves", separator: ",") {
            guard let curve = Self.curveNames.first(where: { $0.0 == name.lowercased() })?.1 else {
                let expected = "x25519, p256, p384, p521, x448 (or P-256, P-384, P-521)"
                fail(f.path("ecdh_curves"), "unknown curve \(quoted(name)) (expected \(expected))")
                continue
            }
            if out.contains(curve) {
                fail(f.path("ecdh_curves"), "\(curve) given twice")
            } else {
                out.append(curve)
            }
        }
        return out
    }

    /// `alpn`, `,`-separated and lower-cased: `h2`, `http/1.1` and `sofa`, what Skiff's listeners speak (which
    /// listener may offer which is checked with its filter, `checkALPN`).
    private mutating func alpn(_ f: Fields) -> [String] {
        var out: [String] = []
        for entry in entries(f, "alpn", separator: ",") {
            let name = entry.lowercased()
            switch name {
            case "h2", "http/1.1", "sofa":
                if out.contains(name) { fail(f.path("alpn"), "\(quoted(name)) given twice") } else { out.append(name) }
            default:
                fail(
                    f.path("alpn"),
                    "unknown protocol \(quoted(entry)) (expected h2, http/1.1 or sofa; MOSN drops unknown names "
                        + "silently, skiff refuses them)")
            }
        }
        return out
    }

    /// A separated list written as one string, entries trimmed; `""` is the empty list, an empty entry an error.
    private mutating func entries(_ f: Fields, _ name: String, separator: Character) -> [String] {
        guard let text = string(f, name), !text.isEmpty else { return [] }
        var out: [String] = []
        for (i, part) in text.split(separator: separator, omittingEmptySubsequences: false).enumerated() {
            let entry = part.trimmingSpaces()
            if entry.isEmpty {
                fail(f.path(name), "entry \(i + 1) is empty (entries are separated by \(quoted(String(separator))))")
            } else {
                out.append(entry)
            }
        }
        return out
    }

    // MARK: - Versions

    static let tlsVersionList = "tls_auto, tlsv1_2, tlsv1_3"

    /// `min_version` and `max_version` (`tls_auto` = TLS 1.2 and 1.3); the minimum may not exceed the maximum.
    private mutating func versions(_ f: Fields, into c: inout TLSContextConfig) {
        c.minVersion = version(f, "min_version", auto: .tls12) ?? .tls12
        c.maxVersion = version(f, "max_version", auto: .tls13) ?? .tls13
        if c.minVersion > c.maxVersion {
            fail(
                f.path("min_version"),
                "min_version \(c.minVersion.mosnName) is above max_version \(c.maxVersion.mosnName)")
        }
    }

    /// One version, `auto` for `tls_auto` (or `""`); nil when absent or refused.
    private mutating func version(_ f: Fields, _ name: String, auto: TLSVersion) -> TLSVersion? {
        guard let s = string(f, name) else { return nil }
        switch s.lowercased() {
        case "", "tls_auto": return auto
        case "tlsv1_2": return .tls12
        case "tlsv1_3": return .tls13
        case "tlsv1_0", "tlsv1_1":
            fail(
                f.path(name),
                "\(quoted(s)): TLS 1.0 and 1.1 are not supported (deprecated by RFC 8996); use tlsv1_2 or tlsv1_3")
        default:
            fail(f.path(name), "unknown TLS version \(quoted(s)) (expected \(Self.tlsVersionList))")
        }
        return nil
    }
}
