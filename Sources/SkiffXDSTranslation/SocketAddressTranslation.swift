import SkiffConfig
import SkiffXDSProto

/// `core.v3.Address` into a `SocketAddressSpec`: a TCP `socket_address` with a numeric port; pipes, UDP, named ports
/// and custom resolvers are refused. Any thread.
struct SocketAddressTranslation {
    typealias Address = Envoy_Config_Core_V3_Address

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    /// A listener's address: an IP literal, port 0...65535.
    func listenerAddress(_ a: Address, at path: String) throws(XDSRejection) -> SocketAddressSpec {
        let (host, port, hostPath) = try socket(a, at: path, ports: 0...65535)
        guard AddressCheck.isIPLiteral(host) else {
            throw context.reject(hostPath, "\(quotedName(host)) is not an IP address (a listener binds an IP address)")
        }
        return SocketAddressSpec(host: host, port: port)
    }

    /// An endpoint's address, port 1...65535. `namesAllowed` (STRICT_DNS and LOGICAL_DNS clusters): a DNS name is
    /// kept for the resolver; otherwise only IP addresses, as in Envoy (EDS and STATIC).
    func endpointAddress(_ a: Address, at path: String, namesAllowed: Bool) throws(XDSRejection) -> SocketAddressSpec {
        let (host, port, hostPath) = try socket(a, at: path, ports: 1...65535)
        guard AddressCheck.isIPLiteral(host) else {
            if let problem = AddressCheck.hostProblem(host) { throw context.reject(hostPath, problem) }
            if namesAllowed { return SocketAddressSpec(host: host, port: port) }
            throw context.reject(hostPath, "\(quotedName(host)) is not an IP address (endpoints are IP addresses)")
        }
        return SocketAddressSpec(host: host, port: port)
    }

    private func socket(_ a: Address, at path: String, ports: ClosedRange<Int>) throws(XDSRejection)
        -> (String, Int, String)
    {
        try context.checkUnknown(a, at: path)
        let s: Envoy_Config_Core_V3_SocketAddress
        switch a.address {
        case .socketAddress(let v)?: s = v
        case .pipe?: throw context.reject(path.dot("pipe"), "Unix sockets are not supported by skiff")
        case nil: throw context.reject(path.dot("socket_address"), "required")
        }
        let sp = path.dot("socket_address")
        try context.checkUnknown(s, at: sp)
        try context.refuse(s.protocol != .tcp, sp.dot("protocol"), "only TCP is supported by skiff")
        try context.refuse(
            !s.resolverName.isEmpty, sp.dot("resolver_name"), "custom resolvers are not supported by skiff")
        try context.refuse(s.ipv4Compat, sp.dot("ipv4_compat"), "not supported by skiff")
        if s.address.isEmpty { throw context.reject(sp.dot("address"), "required") }
        let port: Int
        switch s.portSpecifier {
        case .portValue(let p)?: port = try context.int(p, in: ports, at: sp.dot("port_value"))
        case .namedPort?: throw context.reject(sp.dot("named_port"), "named ports are not supported by skiff")
        case nil:
            guard ports.contains(0) else { throw context.reject(sp.dot("port_value"), "required") }
            port = 0
        }
        return (s.address, port, sp.dot("address"))
    }
}
