extension TelemetryFrame {
    /// What a TLS connection's handshake agreed on (a connection's `tls`). Absent for plaintext connections, for a
    /// connection whose handshake has not finished yet, and for the plaintext branch of an `inspector` listener; so
    /// a frame full of plaintext connections carries no TLS bytes at all. Empty strings: not sent or not agreed
    /// (no SNI, no ALPN, no peer certificate).
    ///
    /// A value: built by the publisher thread, decoded on the reader's.
    public struct ConnectionTLS: TelemetryRecord {
        /// OpenSSL's spelling: `TLSv1.3`, `TLSv1.2`.
        public var version = ""
        /// OpenSSL's name of the cipher suite (`TLS_AES_128_GCM_SHA256`).
        public var cipher = ""
        /// The server name the client sent (inbound) or Skiff sent (outbound).
        public var sni = ""
        public var alpn = ""
        /// The session was resumed (a ticket), not a full handshake.
        public var resumed = false
        /// The peer certificate's subject CN, and its SANs as `DNS:a, IP:1.2.3.4, URI:...`.
        public var peerCN = ""
        public var peerSANs = ""

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("version", &version)
            c.field("cipher", &cipher)
            c.field("sni", &sni)
            c.field("alpn", &alpn)
            c.field("resumed", &resumed)
            c.field("peer_cn", &peerCN)
            c.field("peer_sans", &peerSANs)
        }

        /// `TLS1.3` for `TLSv1.3`: the compact form the console's column shows.
        public var shortVersion: String {
            version.hasPrefix("TLSv") ? "TLS" + version.dropFirst(4) : version
        }
    }

    /// A listener's or cluster's TLS counters since start (they outlive reloads); present only when it has TLS.
    ///
    /// A value: built by the publisher thread, decoded on the reader's.
    public struct TLS: TelemetryRecord {
        /// Handshakes finished (resumed ones included).
        public var handshakes: UInt64 = 0
        public var resumed: UInt64 = 0
        /// Connections an `inspector` listener took as plaintext; nil (absent) on other listeners and on clusters.
        public var plaintext: UInt64?
        /// Failed handshakes by reason (`unknown_sni`, `timeout`, ... as in `/metrics`), only the reasons that
        /// happened: `{}` while none has failed.
        public var failures: [String: UInt64] = [:]
        /// TLS records written and the TLS writes that carried them (records per write is the coalescing).
        public var records: UInt64 = 0
        public var writes: UInt64 = 0
        /// When the earliest-expiring leaf certificate among its contexts expires, seconds since the epoch; nil when
        /// it has none (a cluster that presents no client certificate).
        public var certExpiry: Int?

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("handshakes", &handshakes)
            c.field("resumed", &resumed)
            c.field("plaintext", &plaintext)
            c.field("failures", &failures)
            c.field("records", &records)
            c.field("writes", &writes)
            c.field("cert_expiry", &certExpiry)
        }

        /// Failed handshakes of every reason.
        public var totalFailures: UInt64 { failures.values.reduce(0, &+) }

        /// Records per TLS write (0 without writes).
        public var recordsPerWrite: Double { writes == 0 ? 0 : Double(records) / Double(writes) }
    }
}
