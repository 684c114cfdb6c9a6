import Foundation
import Logging
import SkiffConfig
import SkiffNet
import Synchronization

/// Turns config `tls_context`s into SkiffNet's TLS endpoints: reads the PEM files (a missing or unreadable file, a
/// key that does not match its certificate, an unknown cipher is an error with its path, before anything starts or a
/// reload changes anything), and keeps each listener's and cluster's TLS counters across reloads.
///
/// Threads: used by the engine's lifecycle (start, reload, validate) under its lock; the counters it hands out are
/// read by the publisher.
public final class TLSRegistry: Sendable {
    private let statsByOwner = Mutex<[String: TLSStats]>([:])
    private let logger: Logger?

    public init(logger: Logger? = nil) { self.logger = logger }

    /// The counters of `owner` ("listener NAME", "cluster NAME"), made on first use.
    public func stats(for owner: String) -> TLSStats {
        statsByOwner.withLock { m in
            if let s = m[owner] { return s }
            let log = TLSFailureLog(owner: owner, logger: logger)
            let s = TLSStats(onFailure: { log.note($0) })
            m[owner] = s
            return s
        }
    }

    /// Counters of every owner that has TLS, for the publisher and `/metrics`.
    public var allStats: [(owner: String, stats: TLSStats)] {
        statsByOwner.withLock { m in m.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// A listener's contexts (nil without TLS).
    public func serverContexts(_ tls: ListenerTLSConfig?) throws(EngineError) -> TLSServerContexts? {
        guard let tls, !tls.contexts.isEmpty else { return nil }
        var settings: [TLSSettings] = []
        for c in tls.contexts { settings.append(try Self.settings(c, role: .server)) }
        do {
            return try TLSServerContexts(settings)
        } catch {
            throw EngineError(error.description)
        }
    }

    public func serverEndpoint(_ lc: ListenerConfig) throws(EngineError) -> TLSServerEndpoint? {
        guard let contexts = try serverContexts(lc.tls) else { return nil }
        return TLSServerEndpoint(
            contexts: contexts, inspector: lc.tls?.inspector ?? false, stats: stats(for: "listener \(lc.name)"))
    }

    /// Client endpoints of every cluster with TLS, by cluster name.
    public func clientEndpoints(_ clusters: [ClusterConfig]) throws(EngineError) -> [String: TLSClientEndpoint] {
        var out: [String: TLSClientEndpoint] = [:]
        for c in clusters {
            guard let t = c.tls else { continue }
            let settings = try Self.settings(t, role: .client)
            let context: TLSContext
            do {
                context = try TLSContext(settings)
            } catch {
                throw EngineError(error.description)
            }
            out[c.name] = TLSClientEndpoint(context: context, stats: stats(for: "cluster \(c.name)"))
        }
        return out
    }

    /// Every TLS context of `config`, built and thrown away: what `skiff validate` reports beyond the decoder.
    public static func check(_ config: SkiffConfiguration) -> [String] {
        let registry = TLSRegistry()
        var errors: [String] = []
        for lc in config.allListeners {
            do { _ = try registry.serverContexts(lc.tls) } catch { errors.append(error.message) }
        }
        do { _ = try registry.clientEndpoints(config.clusters) } catch { errors.append(error.message) }
        return errors
    }

    // MARK: - Settings from config

    static func settings(_ c: TLSContextConfig, role: TLSSettings.Role) throws(EngineError) -> TLSSettings {
        TLSSettings(
            role: role, path: c.path, certChainPEM: try pem(c.certChain, at: c.path + ".cert_chain"),
            privateKeyPEM: try pem(c.privateKey, at: c.path + ".private_key"),
            caPEM: try pem(c.caCert, at: c.path + ".ca_cert"), verifyClient: c.verifyClient,
            requireClientCert: c.requireClientCert, serverName: c.serverName, insecureSkip: c.insecureSkip,
            cipherSuites: c.cipherSuites, curves: c.ecdhCurves, minVersion: c.minVersion.rawValue,
            maxVersion: c.maxVersion.rawValue, alpn: c.alpn,
            handshakeTimeoutNs: Connection.nanoseconds(c.handshakeTimeout))
    }

    private static func pem(_ source: PEMSource?, at path: String) throws(EngineError) -> [UInt8]? {
        switch source {
        case nil: return nil
        case .inline(let text): return Array(text.utf8)
        case .file(let file):
            guard let data = FileManager.default.contents(atPath: file) else {
                let why = access(file, F_OK) != 0 ? "no such file" : "not readable"
                throw EngineError("\(path): cannot read \(file): \(why)")
            }
            return Array(data)
        }
    }
}

/// Logs a listener's or cluster's failed handshakes at most once per reason per interval, with how many were not
/// logged since. Any thread (I/O threads report failures).
final class TLSFailureLog: Sendable {
    private struct Slot {
        var lastLoggedNs: UInt64 = 0
        var suppressed: UInt64 = 0
    }
    private let owner: String
    private let logger: Logger?
    private let intervalNs: UInt64
    private let slots = Mutex<[TLSFailureReason: Slot]>([:])

    init(owner: String, logger: Logger?, intervalNs: UInt64 = 10_000_000_000) {
        self.owner = owner
        self.logger = logger
        self.intervalNs = intervalNs
    }

    func note(_ f: TLSFailure) {
        guard let logger else { return }
        let now = MonotonicClock.now()
        let suppressed: UInt64? = slots.withLock { m in
            var s = m[f.reason] ?? Slot()
            defer { m[f.reason] = s }
            if s.lastLoggedNs != 0 && now &- s.lastLoggedNs < intervalNs {
                s.suppressed += 1
                return nil
            }
            let n = s.suppressed
            s.lastLoggedNs = now
            s.suppressed = 0
            return n
        }
        guard let suppressed else { return }
        let more = suppressed > 0 ? " (\(suppressed) more of this reason not logged)" : ""
        logger.warning("\("tls: \(owner): handshake with \(f.peer) failed: \(f.reason): \(f.detail)\(more)")")
    }
}
