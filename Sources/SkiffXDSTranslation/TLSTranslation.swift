import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf

/// A `transport_socket` into Skiff's TLS model: DownstreamTlsContext on a listener's filter chain, UpstreamTlsContext
/// on a cluster; raw_buffer is plaintext. Certificates are inline PEM or file names (read and checked by the engine
/// when it builds the context, reported with `TLSContextConfig.path`); SDS, certificate pinning, CRLs, SAN matchers
/// other than the SNI, TLS 1.0/1.1 and h2 in ALPN are refused. Any thread.
///
/// Envoy's client checks nothing without a `validation_context`, so neither does Skiff (`insecureSkip`); with a
/// `trusted_ca` it checks the chain, and Skiff also checks the certificate names `sni` (so `sni` is required, as
/// `server_name` is in file mode).
struct TLSTranslation {
    typealias TransportSocket = Envoy_Config_Core_V3_TransportSocket
    typealias Common = Envoy_Extensions_TransportSockets_Tls_V3_CommonTlsContext
    typealias Validation = Envoy_Extensions_TransportSockets_Tls_V3_CertificateValidationContext

    static let tlsName = "envoy.transport_sockets.tls"
    static let rawBufferName = "envoy.transport_sockets.raw_buffer"
    static let rawBufferType = "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"
    static let downstreamType = Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext.protoMessageName
    static let upstreamType = Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext.protoMessageName
    /// Envoy's curve names onto OpenSSL's.
    static let curves: [String: String] = ["X25519": "X25519", "P-256": "P-256", "P-384": "P-384", "P-521": "P-521"]

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    /// A filter chain's transport socket: nil for raw_buffer.
    func listenerTLS(_ ts: TransportSocket, at path: String, handshakeTimeout: Duration?) throws(XDSRejection)
        -> ListenerTLSConfig?
    {
        guard let any = try typedConfig(ts, at: path, expected: Self.downstreamType) else { return nil }
        let cp = path.dot("typed_config")
        let d = try AnyUnpacking.unpack(
            any, as: Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext.self, at: cp, context)
        try context.checkUnknown(d, at: cp)
        var c = TLSContextConfig(path: "\(context.resource) \(cp)")
        if let handshakeTimeout { c.handshakeTimeout = handshakeTimeout }
        let common = cp.dot("common_tls_context")
        guard d.hasCommonTlsContext else { throw context.reject(common, "required (with the listener's certificate)") }
        let hasCA = try fill(&c, from: d.commonTlsContext, at: common, server: true)
        if hasCA { c.verifyClient = true }
        if d.hasRequireClientCertificate {
            try context.checkUnknown(d.requireClientCertificate, at: cp.dot("require_client_certificate"))
            if d.requireClientCertificate.value {
                if !hasCA {
                    throw context.reject(
                        cp.dot("require_client_certificate"),
                        "needs common_tls_context.validation_context.trusted_ca to check client certificates against")
                }
                c.requireClientCert = true
            }
        }
        if d.hasRequireSni {
            try context.checkUnknown(d.requireSni, at: cp.dot("require_sni"))
            try context.refuse(d.requireSni.value, cp.dot("require_sni"), "not supported by skiff")
        }
        // `session_timeout` is accepted: Skiff's session tickets have their own lifetime.
        if d.hasSessionTimeout { _ = try context.duration(d.sessionTimeout, at: cp.dot("session_timeout")) }
        return ListenerTLSConfig(contexts: [c])
    }

    /// A cluster's transport socket: nil for raw_buffer.
    func clusterTLS(_ ts: TransportSocket, at path: String) throws(XDSRejection) -> TLSContextConfig? {
        guard let any = try typedConfig(ts, at: path, expected: Self.upstreamType) else { return nil }
        let cp = path.dot("typed_config")
        let u = try AnyUnpacking.unpack(
            any, as: Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext.self, at: cp, context)
        try context.checkUnknown(u, at: cp)
        var c = TLSContextConfig(path: "\(context.resource) \(cp)")
        c.serverName = u.sni.isEmpty ? nil : u.sni
        try context.refuse(u.allowRenegotiation, cp.dot("allow_renegotiation"), "not supported by skiff")
        // `max_session_keys` is accepted: it sizes Envoy's session cache.
        if u.hasMaxSessionKeys { try context.checkUnknown(u.maxSessionKeys, at: cp.dot("max_session_keys")) }
        var hasCA = false
        if u.hasCommonTlsContext {
            hasCA = try fill(&c, from: u.commonTlsContext, at: cp.dot("common_tls_context"), server: false)
        }
        if hasCA {
            if c.serverName == nil {
                throw context.reject(
                    cp.dot("sni"), "required with a trusted_ca: skiff checks the server's certificate against it")
            }
        } else {
            c.insecureSkip = true  // Envoy verifies no server certificate without a trusted CA
        }
        return c
    }

    /// The Any of a TLS transport socket, or nil for raw_buffer.
    private func typedConfig(_ ts: TransportSocket, at path: String, expected: String) throws(XDSRejection)
        -> Google_Protobuf_Any?
    {
        try context.checkUnknown(ts, at: path)
        guard case .typedConfig(let any)? = ts.configType else {
            if ts.name == Self.rawBufferName { return nil }
            throw context.reject(
                path.dot("typed_config"), "required (transport socket \(quotedName(ts.name)) has no typed_config)")
        }
        switch AnyUnpacking.messageName(any) {
        case Self.rawBufferType: return nil
        case expected: return any
        default:
            throw AnyUnpacking.unknownType(
                any, at: path.dot("typed_config"), context, expected: [expected, Self.rawBufferType])
        }
    }

    /// The common context into `c`; returns whether a trusted CA was given.
    private func fill(_ c: inout TLSContextConfig, from t: Common, at path: String, server: Bool) throws(XDSRejection)
        -> Bool
    {
        try context.checkUnknown(t, at: path)
        if t.hasTlsParams { try parameters(t.tlsParams, at: path.dot("tls_params"), into: &c) }
        try context.refuse(
            !t.tlsCertificateSdsSecretConfigs.isEmpty, path.dot("tls_certificate_sds_secret_configs"),
            "SDS is not supported by skiff (give tls_certificates)")
        if t.tlsCertificates.count > 1 {
            throw context.reject(
                path.dot("tls_certificates"), "\(t.tlsCertificates.count) certificates; skiff takes one")
        }
        if let cert = t.tlsCertificates.first {
            let cp = path.dot("tls_certificates").at(0)
            try context.checkUnknown(cert, at: cp)
            guard cert.hasCertificateChain else { throw context.reject(cp.dot("certificate_chain"), "required") }
            guard cert.hasPrivateKey else { throw context.reject(cp.dot("private_key"), "required") }
            c.certChain = try pem(cert.certificateChain, at: cp.dot("certificate_chain"))
            c.privateKey = try pem(cert.privateKey, at: cp.dot("private_key"))
            try context.refuse(
                cert.hasPassword, cp.dot("password"), "encrypted private keys are not supported by skiff")
        } else if server {
            throw context.reject(path.dot("tls_certificates"), "required on a listener: the certificate skiff presents")
        }
        var hasCA = false
        switch t.validationContextType {
        case .validationContext(let v)?:
            hasCA = try validation(v, at: path.dot("validation_context"), sni: c.serverName, into: &c)
        case .validationContextSdsSecretConfig?:
            throw context.reject(path.dot("validation_context_sds_secret_config"), "SDS is not supported by skiff")
        case nil:
            break
        }
        for (i, p) in t.alpnProtocols.enumerated() {
            let ap = path.dot("alpn_protocols").at(i)
            switch p {
            // Whether "h2" fits the listener's codec or the cluster's protocol is checked once those are known.
            case "http/1.1", "h2": if !c.alpn.contains(p) { c.alpn.append(p) }
            default: throw context.reject(ap, "\(quotedName(p)) is not supported by skiff (expected h2 or http/1.1)")
            }
        }
        return hasCA
    }

    private func parameters(
        _ p: Envoy_Extensions_TransportSockets_Tls_V3_TlsParameters, at path: String,
        into c: inout TLSContextConfig
    ) throws(XDSRejection) {
        try context.checkUnknown(p, at: path)
        func version(
            _ v: Envoy_Extensions_TransportSockets_Tls_V3_TlsParameters.TlsProtocol, _ field: String,
            auto: TLSVersion
        ) throws(XDSRejection) -> TLSVersion {
            switch v {
            case .tlsAuto: return auto
            case .tlsv12: return .tls12
            case .tlsv13: return .tls13
            case .tlsv10, .tlsv11:
                throw context.reject(path.dot(field), "TLS 1.0 and 1.1 are not supported (deprecated by RFC 8996)")
            case .UNRECOGNIZED(let n): throw context.reject(path.dot(field), "unknown TLS version \(n)")
            }
        }
        c.minVersion = try version(p.tlsMinimumProtocolVersion, "tls_minimum_protocol_version", auto: .tls12)
        c.maxVersion = try version(p.tlsMaximumProtocolVersion, "tls_maximum_protocol_version", auto: .tls13)
        if c.minVersion > c.maxVersion {
            throw context.reject(path.dot("tls_minimum_protocol_version"), "above tls_maximum_protocol_version")
        }
        for (i, s) in p.cipherSuites.enumerated() {
            let sp = path.dot("cipher_suites").at(i)
            if s.hasPrefix("[") {
                throw context.reject(sp, "equal-preference cipher groups are not supported by skiff")
            }
            if s.uppercased().contains("3DES") || s.uppercased().contains("DES-CBC3") {
                throw context.reject(sp, "\(quotedName(s)): 3DES is insecure (Sweet32) and not supported")
            }
            c.cipherSuites.append(s)
        }
        for (i, name) in p.ecdhCurves.enumerated() {
            guard let curve = Self.curves[name] else {
                throw context.reject(
                    path.dot("ecdh_curves").at(i),
                    "unknown curve \(quotedName(name)) (expected X25519, P-256, P-384, P-521)")
            }
            if !c.ecdhCurves.contains(curve) { c.ecdhCurves.append(curve) }
        }
        try context.refuse(!p.signatureAlgorithms.isEmpty, path.dot("signature_algorithms"), "not supported by skiff")
    }

    /// Returns whether `trusted_ca` was given.
    private func validation(_ v: Validation, at path: String, sni: String?, into c: inout TLSContextConfig)
        throws(XDSRejection) -> Bool
    {
        try context.checkUnknown(v, at: path)
        try context.refuse(
            !v.verifyCertificateHash.isEmpty, path.dot("verify_certificate_hash"), "not supported by skiff")
        try context.refuse(
            !v.verifyCertificateSpki.isEmpty, path.dot("verify_certificate_spki"), "not supported by skiff")
        try context.refuse(v.hasCrl, path.dot("crl"), "not supported by skiff")
        try context.refuse(v.allowExpiredCertificate, path.dot("allow_expired_certificate"), "not supported by skiff")
        let sanReason =
            "not supported by skiff (a client checks the server's certificate against sni; a listener checks "
            + "client certificates against trusted_ca only)"
        for (i, m) in v.matchSubjectAltNames.enumerated() {
            let mp = path.dot("match_subject_alt_names").at(i)
            try context.checkUnknown(m, at: mp)
            guard case .exact(let name)? = m.matchPattern, !m.ignoreCase, name == sni else {
                throw context.reject(mp, sanReason)
            }
        }
        for (i, m) in v.matchTypedSubjectAltNames.enumerated() {
            let mp = path.dot("match_typed_subject_alt_names").at(i)
            try context.checkUnknown(m, at: mp)
            try context.checkUnknown(m.matcher, at: mp.dot("matcher"))
            guard m.sanType == .dns, case .exact(let name)? = m.matcher.matchPattern, !m.matcher.ignoreCase, name == sni
            else { throw context.reject(mp, sanReason) }
        }
        guard v.hasTrustedCa else { return false }
        c.caCert = try pem(v.trustedCa, at: path.dot("trusted_ca"))
        return true
    }

    /// A DataSource as a PEM source: a file name or inline text; environment variables are refused.
    private func pem(_ d: Envoy_Config_Core_V3_DataSource, at path: String) throws(XDSRejection) -> PEMSource {
        try context.checkUnknown(d, at: path)
        switch d.specifier {
        case .filename(let f)?:
            if f.isEmpty { throw context.reject(path.dot("filename"), "must not be empty") }
            return .file(f)
        case .inlineString(let s)?:
            if s.isEmpty { throw context.reject(path.dot("inline_string"), "must not be empty") }
            return .inline(s)
        case .inlineBytes(let b)?:
            guard let s = String(validating: b, as: UTF8.self), !s.isEmpty else {
                throw context.reject(path.dot("inline_bytes"), "expected PEM text")
            }
            return .inline(s)
        case .environmentVariable?:
            throw context.reject(
                path.dot("environment_variable"), "not supported by skiff (use filename or inline_string)")
        case nil:
            throw context.reject(path, "needs filename, inline_string or inline_bytes")
        }
    }

    /// "h2" among the ALPN protocols of a TLS context that serves (or reaches) HTTP/2 — added when none is given, so
    /// peers pick HTTP/2 by it — and nowhere else. `path`: where the protocols were given.
    func checkALPN(_ c: inout TLSContextConfig, http2: Bool, at path: String, what: String) throws(XDSRejection) {
        if http2 && c.alpn.isEmpty {
            c.alpn = ["h2"]
        } else if http2 && !c.alpn.contains("h2") {
            throw context.reject(path, "must offer \"h2\": \(what) speaks HTTP/2")
        } else if !http2 && c.alpn.contains("h2") {
            throw context.reject(path, "offers \"h2\", but \(what) speaks HTTP/1.1")
        }
    }
}
