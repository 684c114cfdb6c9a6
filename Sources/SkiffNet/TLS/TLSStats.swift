import Synchronization

/// Why a TLS handshake failed, as counted and shown (one counter per reason per listener or cluster).
public enum TLSFailureReason: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// A certificate was required and the peer sent none.
    case noCertificate
    /// The peer's certificate did not verify (unknown CA, wrong name, bad signature).
    case untrustedCertificate
    /// The peer's certificate has expired (or is not yet valid).
    case expiredCertificate
    /// The peer refused ours (it sent an alert about our certificate).
    case peerRejected
    /// The ClientHello asked for a name no certificate of the listener has.
    case unknownSNI
    /// The first bytes were not TLS (plaintext on a TLS port).
    case notTLS
    /// No version, cipher or group in common.
    case noSharedParameters
    /// The handshake did not finish within `handshake_timeout`.
    case timeout
    /// The peer closed or reset the connection during the handshake.
    case peerClosed
    /// Anything else OpenSSL refused.
    case other

    /// The label used in frames, `/metrics` and logs.
    public var description: String {
        switch self {
        case .noCertificate: "no_certificate"
        case .untrustedCertificate: "untrusted_certificate"
        case .expiredCertificate: "expired_certificate"
        case .peerRejected: "peer_rejected"
        case .unknownSNI: "unknown_sni"
        case .notTLS: "not_tls"
        case .noSharedParameters: "no_shared_parameters"
        case .timeout: "timeout"
        case .peerClosed: "peer_closed"
        case .other: "other"
        }
    }
}

/// A failed handshake as reported to the owner's failure sink (which logs it, rate-limited).
public struct TLSFailure: Sendable {
    public var reason: TLSFailureReason
    /// OpenSSL's words, or the verification error.
    public var detail: String
    public var peer: String
}

/// TLS counters of one listener or cluster, kept across reloads (the contexts are rebuilt; these are not).
/// Relaxed atomics written by the I/O threads, read by the publisher.
public final class TLSStats: Sendable {
    public let handshakes = Atomic<UInt64>(0)
    public let resumed = Atomic<UInt64>(0)
    /// Connections that took the plaintext branch of an `inspector` listener.
    public let plaintext = Atomic<UInt64>(0)
    /// One failure counter.
    private final class Counter: Sendable { let value = Atomic<UInt64>(0) }
    /// Handshake failures, indexed by `TLSFailureReason.rawValue`.
    private let failureCounters: [Counter]
    /// Records written (a record carries at most 16 KiB) and TLS writes: records per write is the coalescing.
    public let records = Atomic<UInt64>(0)
    public let writes = Atomic<UInt64>(0)
    /// Told about each failure (the engine logs at most once per reason per interval).
    public let onFailure: (@Sendable (TLSFailure) -> Void)?

    public init(onFailure: (@Sendable (TLSFailure) -> Void)? = nil) {
        failureCounters = TLSFailureReason.allCases.map { _ in Counter() }
        self.onFailure = onFailure
    }

    public func failures(_ r: TLSFailureReason) -> UInt64 { failureCounters[r.rawValue].value.load(ordering: .relaxed) }

    /// Every reason with its count, in `TLSFailureReason` order.
    public var failureCounts: [(TLSFailureReason, UInt64)] { TLSFailureReason.allCases.map { ($0, failures($0)) } }

    public var totalFailures: UInt64 { failureCounters.reduce(0) { $0 &+ $1.value.load(ordering: .relaxed) } }

    func noteFailure(_ f: TLSFailure) {
        failureCounters[f.reason.rawValue].value.wrappingAdd(1, ordering: .relaxed)
        onFailure?(f)
    }
}

/// What a finished handshake agreed on, kept on the connection for the Connections view and details.
public struct TLSConnectionInfo: Sendable, Equatable {
    public var version: String
    public var cipher: String
    /// The SNI the client sent (inbound) or we sent (outbound); empty when none.
    public var serverName: String
    public var alpn: String
    public var resumed: Bool
    /// The peer certificate's subject CN and SANs ("DNS:a, IP:1.2.3.4, URI:spiffe://..."); empty without one.
    public var peerCommonName: String
    public var peerSANs: String
}
