import SkiffControl
import SkiffNet

/// The `skiff_tls_*` families of `/metrics`: one series set per TLS listener (`listener` label) and per TLS cluster
/// (`cluster` label). Every failure reason is written, zeros included, so `rate()` and `increase()` work from the
/// first scrape. On the scraping thread; reads relaxed atomics and immutable contexts.
extension AdminAPI {
    static func tlsFamilies(_ p: inout PrometheusWriter, _ engine: Engine) {
        for l in engine.listeners {
            guard let ep = l.listener.tls else { continue }
            let labels = [(name: "listener", value: l.name)]
            tlsSeries(&p, labels: labels, ep.stats, inspector: ep.inspector, certExpiry: ep.earliestLeafExpiry)
        }
        for c in engine.clusters.clusters.values.sorted(by: { $0.name < $1.name }) {
            guard let ep = c.tls else { continue }
            let labels = [(name: "cluster", value: c.name)]
            tlsSeries(&p, labels: labels, ep.stats, inspector: false, certExpiry: ep.earliestLeafExpiry)
        }
    }

    private static func tlsSeries(
        _ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, _ s: TLSStats, inspector: Bool,
        certExpiry: Int64?
    ) {
        p.counter(
            name: "skiff_tls_handshakes_total", help: "TLS handshakes completed (resumed ones included).",
            labels: labels, value: s.handshakes.load(ordering: .relaxed))
        p.counter(
            name: "skiff_tls_resumed_total", help: "TLS handshakes that resumed a session.", labels: labels,
            value: s.resumed.load(ordering: .relaxed))
        for (reason, count) in s.failureCounts {
            p.counter(
                name: "skiff_tls_handshake_failures_total", help: "TLS handshakes that failed, by reason.",
                labels: labels + [(name: "reason", value: reason.description)], value: count)
        }
        if inspector {
            p.counter(
                name: "skiff_tls_plaintext_total",
                help: "Connections an inspector listener took as plaintext (first byte not a TLS handshake).",
                labels: labels, value: s.plaintext.load(ordering: .relaxed))
        }
        p.counter(
            name: "skiff_tls_records_total", help: "TLS records written.", labels: labels,
            value: s.records.load(ordering: .relaxed))
        p.counter(
            name: "skiff_tls_writes_total", help: "TLS writes (each carries one or more records).", labels: labels,
            value: s.writes.load(ordering: .relaxed))
        if let certExpiry {
            p.gauge(
                name: "skiff_tls_certificate_expiry_seconds",
                help: "When the earliest-expiring leaf certificate expires, seconds since the epoch.", labels: labels,
                value: Int(clamping: certExpiry))
        }
    }
}
