/// How a connection's TLS reads in the Connections view: a compact version column and the name it is about.
/// Pure; the console's thread.
extension ConnectionRow {
    /// `TLS1.3`, or `-` for plaintext.
    var tlsText: String { tls?.shortVersion ?? "-" }

    /// The name the connection is about: the SNI the client asked for (inbound) or the CN of the certificate the
    /// upstream showed (outbound), each falling back to the other; `-` when there is none.
    var tlsName: String {
        guard let t = tls else { return "-" }
        let first = dir == "outbound" ? t.peerCN : t.sni
        let second = dir == "outbound" ? t.sni : t.peerCN
        return !first.isEmpty ? first : !second.isEmpty ? second : "-"
    }

    /// What the filter matches for TLS (`tls1.3`, a server name, a CN); empty for plaintext.
    var tlsSearchText: String {
        guard let t = tls else { return "" }
        return "tls \(t.shortVersion) \(t.cipher) \(t.sni) \(t.alpn) \(t.peerCN)"
    }
}
