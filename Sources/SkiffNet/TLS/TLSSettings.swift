/// One TLS context as SkiffNet builds it: PEM already read (the engine reads files so that a missing one is a config
/// error with its path), names in OpenSSL's spelling. Built into a `TLSContext` once per config generation.
public struct TLSSettings: Sendable, Equatable {
    public enum Role: Sendable, Equatable { case server, client }

    public var role: Role
    /// The config path of the context (`...filter_chains[0].tls_context`); errors name `path.field`.
    public var path: String
    public var certChainPEM: [UInt8]?
    public var privateKeyPEM: [UInt8]?
    /// nil = the system's trust store.
    public var caPEM: [UInt8]?
    /// Server: check a client certificate when one is sent (MOSN's `verify_client`).
    public var verifyClient: Bool
    /// Server: ask for a client certificate; with `verifyClient`, require and check it (MOSN's matrix).
    public var requireClientCert: Bool
    /// Client: the SNI and the name checked (an IP literal: no SNI, IP SANs checked). Server: one more SNI name.
    public var serverName: String?
    /// Client: no chain or name checks.
    public var insecureSkip: Bool
    /// OpenSSL names; `TLS_*` are TLS 1.3 suites, the rest TLS 1.2 ciphers. Empty = OpenSSL's defaults.
    public var cipherSuites: [String]
    /// OpenSSL group names (`X25519`, `P-256`). Empty = OpenSSL's defaults.
    public var curves: [String]
    /// 12 or 13.
    public var minVersion: Int
    public var maxVersion: Int
    public var alpn: [String]
    public var handshakeTimeoutNs: UInt64

    public init(
        role: Role, path: String, certChainPEM: [UInt8]? = nil, privateKeyPEM: [UInt8]? = nil, caPEM: [UInt8]? = nil,
        verifyClient: Bool = false, requireClientCert: Bool = false, serverName: String? = nil,
        insecureSkip: Bool = false, cipherSuites: [String] = [], curves: [String] = [], minVersion: Int = 12,
        maxVersion: Int = 13, alpn: [String] = [], handshakeTimeoutNs: UInt64 = 10_000_000_000
    ) {
        self.role = role
        self.path = path
        self.certChainPEM = certChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.caPEM = caPEM
        self.verifyClient = verifyClient
        self.requireClientCert = requireClientCert
        self.serverName = serverName
        self.insecureSkip = insecureSkip
        self.cipherSuites = cipherSuites
        self.curves = curves
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.alpn = alpn
        self.handshakeTimeoutNs = handshakeTimeoutNs
    }
}

/// A context that could not be built: the field's config path and what is wrong with it.
public struct TLSSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
