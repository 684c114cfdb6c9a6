import SkiffConfig
import SkiffNet
import SkiffUpstream

/// Why a filter could not be built from a validated config (a cluster's hosts failed to resolve, say).
public struct ProxySetupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An IPv4 or IPv6 prefix, for tcp_proxy source/destination matching.
struct CIDR {
    let bytes: [UInt8]
    let length: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let ip = parts.first, let a = SocketAddress(ip: String(ip), port: 0) else { return nil }
        bytes = CIDR.ipBytes(a)
        length = parts.count == 2 ? Int(parts[1]) ?? -1 : bytes.count * 8
        guard (0...(bytes.count * 8)).contains(length) else { return nil }
    }

    static func ipBytes(_ a: SocketAddress) -> [UInt8] {
        switch a {
        case .v4(var s): return withUnsafeBytes(of: &s.sin_addr) { Array($0) }
        case .v6(var s): return withUnsafeBytes(of: &s.sin6_addr) { Array($0) }
        }
    }

    func contains(_ a: SocketAddress) -> Bool {
        let b = CIDR.ipBytes(a)
        guard b.count == bytes.count else { return false }
        var bits = length
        var i = 0
        while bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xff : ~(0xff >> UInt8(bits))
            if b[i] & mask != bytes[i] & mask { return false }
            bits -= 8
            i += 1
        }
        return true
    }
}

/// The tcp_proxy's routes, in order; the filter's `cluster` is the fallback.
struct TCPRouteTable: Sendable {
    struct Route: @unchecked Sendable {
        let cluster: Cluster
        let sources: [CIDR]
        let destinations: [CIDR]
    }

    let routes: [Route]
    let fallback: Cluster?

    init(config: TCPProxyConfig, clusters: ClusterManager) throws(ProxySetupError) {
        func lookup(_ name: String) throws(ProxySetupError) -> Cluster {
            guard let c = clusters[name] else { throw ProxySetupError("tcp_proxy: no cluster named \"\(name)\"") }
            return c
        }
        var rs: [Route] = []
        for r in config.routes {
            let src = r.sourceAddrs.compactMap(CIDR.init)
            let dst = r.destinationAddrs.compactMap(CIDR.init)
            rs.append(Route(cluster: try lookup(r.cluster), sources: src, destinations: dst))
        }
        routes = rs
        if let name = config.cluster {
            fallback = try lookup(name)
        } else {
            fallback = nil
        }
    }

    /// The first route whose source and destination prefixes match (an empty list matches anything).
    func cluster(source: SocketAddress?, destination: SocketAddress?) -> Cluster? {
        for r in routes {
            let srcOK = r.sources.isEmpty || (source.map { s in r.sources.contains { $0.contains(s) } } ?? false)
            let dstOK =
                r.destinations.isEmpty || (destination.map { d in r.destinations.contains { $0.contains(d) } } ?? false)
            if srcOK && dstOK { return r.cluster }
        }
        return fallback
    }
}
