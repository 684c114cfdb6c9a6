/// A router config that validation let through but the route table cannot use, with where it is.
///
/// Printed as one line: `router "r1" virtual_hosts[0].domains[2]: bad port in domain "a.com:x" (...)`.
public struct RouteTableError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A domain the matcher cannot use (`a*.com`, a bad port, no host).
        case invalidDomain
        /// Two domains that match the same requests (`a.com` and `A.com:*`; two defaults).
        case duplicateDomain
        /// A regular expression Swift's `Regex` refuses.
        case badRegex
        /// A combination the router does not implement (prefix_rewrite on a regex or header-only route).
        case unsupported
        /// Two routers with one `router_config_name`.
        case duplicateRouter
    }

    public var kind: Kind
    /// `router_config_name`.
    public var router: String
    /// Path inside the router config (`virtual_hosts[0].routers[3].match.regex`); empty for the router itself.
    public var path: String
    public var message: String

    public init(kind: Kind, router: String, path: String, message: String) {
        self.kind = kind
        self.router = router
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "router \"\(router)\": \(message)" : "router \"\(router)\" \(path): \(message)"
    }
}
