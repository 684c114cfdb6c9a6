import SkiffNet
import SkiffTelemetry

/// The TLS parts of a frame: a connection's handshake results and each TLS listener's and cluster's counters.
/// Publisher thread (and the `snapshot` / `stats` callers, which read the same relaxed atomics).
extension FramePublisher {
    /// Owner labels (listener and cluster names) whose connections may speak TLS.
    func tlsOwnerLabels() -> Set<String> {
        var out: Set<String> = []
        for l in engine.listeners where l.listener.tls != nil { out.insert(l.name) }
        for c in engine.clusters.clusters.values where c.tls != nil { out.insert(c.name) }
        return out
    }

    static func tlsRecord(_ endpoint: TLSServerEndpoint) -> TelemetryFrame.TLS {
        TelemetryFrame.TLS(endpoint.stats, inspector: endpoint.inspector, certExpiry: endpoint.earliestLeafExpiry)
    }

    static func tlsRecord(_ endpoint: TLSClientEndpoint) -> TelemetryFrame.TLS {
        TelemetryFrame.TLS(endpoint.stats, inspector: false, certExpiry: endpoint.earliestLeafExpiry)
    }
}

extension TelemetryFrame.TLS {
    /// Counters read now; failures only for the reasons that happened.
    init(_ stats: TLSStats, inspector: Bool, certExpiry: Int64?) {
        self.init()
        handshakes = stats.handshakes.load(ordering: .relaxed)
        resumed = stats.resumed.load(ordering: .relaxed)
        if inspector { plaintext = stats.plaintext.load(ordering: .relaxed) }
        for (reason, count) in stats.failureCounts where count > 0 { failures[reason.description] = count }
        records = stats.records.load(ordering: .relaxed)
        writes = stats.writes.load(ordering: .relaxed)
        self.certExpiry = certExpiry.map { Int(clamping: $0) }
    }
}

extension TelemetryFrame.ConnectionTLS {
    init(_ info: TLSConnectionInfo) {
        self.init()
        version = info.version
        cipher = info.cipher
        sni = info.serverName
        alpn = info.alpn
        resumed = info.resumed
        peerCN = info.peerCommonName
        peerSANs = info.peerSANs
    }
}
