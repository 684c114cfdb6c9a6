import SkiffTelemetry

/// The TLS part of `skiff ctl stats`: one row per listener and cluster that speaks TLS (nothing at all when none
/// does), from the same frame the tables above come from; certificate expiry is reckoned from the frame's time.
func printTLS(_ f: TelemetryFrame) {
    let owners =
        f.listeners.compactMap { l in l.tls.map { ("listener \(l.name)", $0) } }
        + f.clusters.compactMap { c in c.tls.map { ("cluster \(c.name)", $0) } }
    guard !owners.isEmpty else { return }
    print("")
    printTable(
        ["TLS", "HANDSHAKES", "RESUMED", "PLAINTEXT", "FAILED", "RECORDS/WRITE", "CERT EXPIRES"],
        owners.map { name, t in
            [
                name, Humanize.count(t.handshakes), Humanize.count(t.resumed), t.plaintext.map(Humanize.count) ?? "-",
                failureText(t), format1(t.recordsPerWrite),
                t.certExpiry.map { CertificateExpiry.text($0, nowMs: f.ts) } ?? "-",
            ]
        })
}

/// `0`, or the total with the reasons, commonest first: `4 (unknown_sni 3, timeout 1)`.
private func failureText(_ t: TelemetryFrame.TLS) -> String {
    guard !t.failures.isEmpty else { return "0" }
    let reasons = t.failures.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    return "\(t.totalFailures) (" + reasons.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
}
