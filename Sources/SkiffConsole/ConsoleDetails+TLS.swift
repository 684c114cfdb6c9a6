import SkiffTelemetry

/// The TLS sections of the details panels: a connection's handshake results, a listener's or cluster's counters and
/// certificate expiry. Pure; the console's thread.
extension DetailsPanel {
    /// A connection's TLS; nothing for a plaintext connection of a plaintext owner.
    static func connectionTLSLines(_ c: ConnectionRow, ownerHasTLS: Bool) -> [DetailLine] {
        guard let t = c.tls else {
            guard ownerHasTLS else { return [] }
            return [
                .blank, .heading("TLS"),
                DetailLine(text: "none: plaintext (an inspector listener's or a tls_disable host's), or the handshake has not finished", role: .dim),
            ]
        }
        func or(_ s: String, _ none: String) -> String { s.isEmpty ? none : s }
        return [
            .blank,
            .heading("TLS"),
            DetailLine(
                text: "version \(t.version)   cipher \(or(t.cipher, "?"))   "
                    + (t.resumed ? "resumed session" : "full handshake")),
            DetailLine(text: "SNI \(or(t.sni, "(none sent)"))   ALPN \(or(t.alpn, "(none agreed)"))"),
            DetailLine(
                text: t.peerCN.isEmpty && t.peerSANs.isEmpty
                    ? "peer certificate: none" : "peer certificate: CN \(or(t.peerCN, "(none)"))"),
        ] + (t.peerSANs.isEmpty ? [] : [DetailLine(text: "peer SANs \(t.peerSANs)")])
    }

    /// A listener's or cluster's TLS counters, or a word that it has none.
    static func endpointTLSLines(_ tls: TelemetryFrame.TLS?, plaintextWord: String, nowMs: UInt64) -> [DetailLine] {
        guard let t = tls else { return [.heading("TLS"), DetailLine(text: plaintextWord, role: .dim)] }
        var out: [DetailLine] = [.heading("TLS since start")]
        var first = ["handshakes \(t.handshakes)", "resumed \(t.resumed)\(percent(t.resumed, of: t.handshakes))"]
        if let p = t.plaintext { first.append("plaintext (inspector) \(p)") }
        out.append(DetailLine(text: first.joined(separator: "   ")))
        if t.failures.isEmpty {
            out.append(DetailLine(text: "failed handshakes: none", role: .ok))
        } else {
            // The commonest reason first.
            let reasons = t.failures.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            out.append(
                DetailLine(
                    text: "failed handshakes \(t.totalFailures): "
                        + reasons.map { "\($0.key) \($0.value)" }.joined(separator: "   "), role: .bad))
        }
        out.append(
            DetailLine(text: "records \(t.records)   writes \(t.writes)   records per write \(Fmt.one(t.recordsPerWrite))"))
        if let exp = t.certExpiry {
            let days = CertificateExpiry.daysLeft(exp, nowMs: nowMs)
            let role: ColorRole = days < 0 ? .bad : days < CertificateExpiry.warningDays ? .warn : .normal
            out.append(DetailLine(text: "certificate expires \(CertificateExpiry.text(exp, nowMs: nowMs))", role: role))
        } else {
            out.append(DetailLine(text: "certificate: none presented", role: .dim))
        }
        return out
    }

    private static func percent(_ part: UInt64, of whole: UInt64) -> String {
        whole == 0 ? "" : " (\(Int((Double(part) / Double(whole) * 100).rounded()))%)"
    }
}
