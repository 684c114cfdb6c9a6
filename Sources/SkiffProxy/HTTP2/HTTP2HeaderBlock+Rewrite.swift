import SkiffHTTP2

/// The route's rewrites on an HTTP/2 request sent upstream, as the HTTP/1.1 path renders them
/// (`HTTPRenderer.RequestOptions`): `host_rewrite` replaces `:authority`, `prefix_rewrite` the matched start of
/// `:path` (query kept). In place, so pseudo-headers stay first.
extension HTTP2HeaderBlock {
    func applyRewrites(of entry: RouteEntry, scratch: inout [UInt8]) {
        if let host = entry.hostRewrite {
            // A client may name the host in `host` instead of `:authority` (RFC 9113 §8.3.1): the rewrite replaces
            // both with one `:authority`.
            remove("host")
            host.withUnsafeBytes { h in
                if let i = index(of: ":authority") {
                    setValue(at: i, h)
                } else {
                    insertPseudoHeader(":authority", value: h)
                }
            }
        }
        if let prefix = entry.prefixRewrite, let i = index(of: ":path") {
            let path = value(i)
            let matched = min(max(0, entry.matchedPrefixLength), path.count)
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: prefix)
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: path[matched...]))
            if scratch.isEmpty { scratch.append(UInt8(ascii: "/")) }
            scratch.withUnsafeBytes { setValue(at: i, $0) }
        }
    }
}
