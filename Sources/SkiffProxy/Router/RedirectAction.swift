import SkiffConfig

/// `redirect`: the status and how to build `Location` from the request.
public struct RedirectAction: Sendable {
    /// 301, 302, 303, 307 or 308 (validated).
    public let responseCode: Int
    /// Replaces the request's whole authority (host and port) when set.
    public let hostRedirect: [UInt8]?
    /// Replaces the request's path when set.
    public let pathRedirect: [UInt8]?

    public init(_ config: RedirectConfig) {
        responseCode = config.responseCode
        hostRedirect = config.hostRedirect.map { Array($0.utf8) }
        pathRedirect = config.pathRedirect.map { Array($0.utf8) }
    }

    /// The `Location` value: `http://` + (host_redirect or the request's host) + (path_redirect or the request's path,
    /// `/` when it has none). Without any host it is just the path (a relative reference, RFC 9110 10.2.2).
    /// Allocates: redirects are answered locally, off the forwarding path.
    public func location(host: UnsafeRawBufferPointer?, path: UnsafeRawBufferPointer?) -> [UInt8] {
        var out: [UInt8] = []
        if let hostRedirect, !hostRedirect.isEmpty {
            out.append(contentsOf: "http://".utf8)
            out.append(contentsOf: hostRedirect)
        } else if let host, !host.isEmpty {
            out.append(contentsOf: "http://".utf8)
            out.append(contentsOf: host)
        }
        if let pathRedirect, !pathRedirect.isEmpty {
            if pathRedirect.first != UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: pathRedirect)
        } else if let path, !path.isEmpty {
            out.append(contentsOf: path)
        } else {
            out.append(UInt8(ascii: "/"))
        }
        return out
    }

    /// `location(host:path:)` with the request's host and path.
    public func location<I: RouteInput>(for input: I) -> [UInt8] { location(host: input.host, path: input.path) }
}
