/// MOSN's `tls_context`, decoded and checked for shape. What needs OpenSSL to check (a PEM that parses, a key that
/// matches its certificate, a cipher or curve OpenSSL knows) is checked when the engine builds the context, with
/// `path` in the error, before anything starts or a reload changes anything.
///
/// On a filter chain (`filter_chains[0].tls_context`, or each entry of `tls_context_set`) it is a server context; on
/// a cluster (`clusters[].tls_context`, or `cluster_manager.tls_context` for clusters with `cluster_manager_tls`)
/// it is a client context. A context with `"status": false` (MOSN's default) is no TLS and is not kept.
public struct TLSContextConfig: Sendable, Equatable {
    /// Where it was written (`servers[0].listeners[1].filter_chains[0].tls_context`), for errors found later.
    public var path: String
    /// `cert_chain` and `private_key`: the certificate (with its intermediates) and its key. Required on a server;
    /// optional on a client (sent when the server asks for a certificate).
    public var certChain: PEMSource?
    public var privateKey: PEMSource?
    /// `ca_cert`: who is trusted. Server: the CAs client certificates must chain to. Client: the CAs the server's
    /// certificate must chain to. nil = the system's trust store.
    public var caCert: PEMSource?
    /// Server only (MOSN's matrix): `verify_client` checks a client certificate against `ca_cert` when one is sent;
    /// with `require_client_cert` too, one must be sent. `require_client_cert` alone asks for one and checks nothing.
    public var verifyClient: Bool
    public var requireClientCert: Bool
    /// Client: the SNI sent and the name the server's certificate is checked against (an IP literal: no SNI, checked
    /// against the certificate's IP SANs). Server: one more name this certificate answers to in SNI selection.
    public var serverName: String?
    /// Client only: skip the server certificate's chain and name checks.
    public var insecureSkip: Bool
    /// `cipher_suites`, `:`-separated, in OpenSSL's spelling (MOSN's names already translated). Empty = defaults.
    /// The `TLS_`-prefixed entries are TLS 1.3 suites (OpenSSL takes them apart: `SSL_CTX_set_ciphersuites`); the
    /// rest are TLS 1.2 cipher-list entries, passed through as written.
    public var cipherSuites: [String]
    /// `ecdh_curves`, `,`-separated, in OpenSSL's spelling (`X25519`, `P-256`...). Empty = defaults.
    public var ecdhCurves: [String]
    public var minVersion: TLSVersion
    public var maxVersion: TLSVersion
    /// `alpn`, `,`-separated, lower-cased: protocols offered (client) or accepted (server).
    public var alpn: [String]
    /// `handshake_timeout` (Skiff): how long a handshake may take before the connection is closed, default 10 s.
    public var handshakeTimeout: Duration

    public init(
        path: String, certChain: PEMSource? = nil, privateKey: PEMSource? = nil, caCert: PEMSource? = nil,
        verifyClient: Bool = false, requireClientCert: Bool = false, serverName: String? = nil,
        insecureSkip: Bool = false, cipherSuites: [String] = [], ecdhCurves: [String] = [],
        minVersion: TLSVersion = .tls12, maxVersion: TLSVersion = .tls13, alpn: [String] = [],
        handshakeTimeout: Duration = TLSContextConfig.defaultHandshakeTimeout
    ) {
        self.path = path
        self.certChain = certChain
        self.privateKey = privateKey
        self.caCert = caCert
        self.verifyClient = verifyClient
        self.requireClientCert = requireClientCert
        self.serverName = serverName
        self.insecureSkip = insecureSkip
        self.cipherSuites = cipherSuites
        self.ecdhCurves = ecdhCurves
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.alpn = alpn
        self.handshakeTimeout = handshakeTimeout
    }

    public static let defaultHandshakeTimeout = Duration.seconds(10)
}

/// A certificate, key or CA bundle: a file (path as written; relative paths resolve against the working directory,
/// as in MOSN) or PEM text written inline.
public enum PEMSource: Sendable, Equatable, Hashable {
    case file(String)
    case inline(String)
}

/// TLS protocol versions Skiff speaks. TLS 1.0 and 1.1 are refused in config (RFC 8996 deprecates them).
public enum TLSVersion: Int, Sendable, Equatable, Comparable, CaseIterable {
    case tls12 = 12
    case tls13 = 13

    public static func < (a: TLSVersion, b: TLSVersion) -> Bool { a.rawValue < b.rawValue }

    /// MOSN's spelling (`tlsv1_2`).
    public var mosnName: String { self == .tls12 ? "tlsv1_2" : "tlsv1_3" }
}

/// A listener's TLS: the server contexts of its filter chain (one from `tls_context`, several from
/// `tls_context_set`, picked by SNI), and whether plaintext is accepted beside TLS on the same port.
///
/// SNI: with one context every ClientHello gets it (the client checks the name). With several, the first whose
/// certificate names (CN, DNS SANs, wildcards) or `server_name` match the SNI wins; no SNI gets the first; an SNI
/// that matches none is refused (alert `unrecognized_name`), where MOSN would serve the first certificate.
public struct ListenerTLSConfig: Sendable, Equatable {
    /// In config order; the first is the default for a ClientHello without SNI.
    public var contexts: [TLSContextConfig]
    /// MOSN's listener `inspector`: the first byte decides, 0x16 (a TLS handshake record) is TLS, anything else
    /// plaintext.
    public var inspector: Bool

    public init(contexts: [TLSContextConfig], inspector: Bool = false) {
        self.contexts = contexts
        self.inspector = inspector
    }
}
