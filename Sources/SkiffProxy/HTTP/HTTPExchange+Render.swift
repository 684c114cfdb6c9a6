import SkiffNet
import SkiffProtocol

/// What the upstream gets from the client's request: the head rendered for it (`X-Forwarded-For`, host and prefix
/// rewrites) and the hash key a Maglev cluster picks a host by.
extension HTTPExchange {
    /// Renders the request head for the upstream into `out`; nil when it does not fit.
    func render(
        head: UnsafeRawBufferPointer, request: HTTPRequestHead, entry: RouteEntry, into out: ByteBuffer
    ) -> Int? {
        var options = HTTPRenderer.RequestOptions()
        if logging, accessLog?.tracing != nil, let r = logRecord { options.extraHeaders = traceHeaders(r, head: head) }
        return connection.peerIPBytes.withUnsafeBytes { ipBytes in
            options.xForwardedFor = ipBytes
            return withOptionalBytes(entry.hostRewrite) { hostBytes in
                options.hostRewrite = hostBytes
                return withOptionalBytes(entry.prefixRewrite) { prefixBytes in
                    if let p = prefixBytes { options.prefixRewrite = (entry.matchedPrefixLength, p) }
                    return HTTPRenderer.renderRequest(
                        head: request, headers: d.requestHeaders, source: head, into: out.writePointer,
                        capacity: out.writableBytes, options: options)
                }
            }
        }
    }

    /// FNV-1a over the configured headers' values (for LB_MAGLEV); a missing header hashes as empty.
    func hashKey(_ names: [[UInt8]], head: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for n in names {
            if let v = n.withUnsafeBytes({ d.requestHeaders.firstValue(named: $0, in: head) }) {
                for b in v { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            }
            h = (h ^ 0xff) &* 0x100_0000_01b3
        }
        return h
    }
}
