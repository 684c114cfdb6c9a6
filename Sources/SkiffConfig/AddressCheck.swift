/// `AddressText`'s host checks for translators outside this module (the xDS translation), so an address from a
/// control plane is judged exactly as one from a file. Pure; any thread.
public enum AddressCheck {
    /// Why `host` (no port, no brackets) is not an IP literal or a DNS name; nil when it is fine.
    public static func hostProblem(_ host: String) -> String? { AddressText.hostProblem(host) }

    /// An IPv4 or IPv6 literal (no brackets).
    public static func isIPLiteral(_ host: String) -> Bool { AddressText.isIPv4(host) || AddressText.isIPv6(host) }
}
