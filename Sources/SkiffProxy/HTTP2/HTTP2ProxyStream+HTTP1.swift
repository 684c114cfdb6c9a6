import SkiffHTTP2
import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// HTTP/2 streams to HTTP/1.1 upstreams (`upstream_protocol: Http1` behind an `Http2` listener): the request is
/// rendered as HTTP/1.1 from the stream's header block — `:method`, `:path`, `Host` from `:authority`, the other
/// fields but the connection-specific ones and `te` — with its body chunked unless it declared a length; the
/// response comes back from `HTTP1StreamUpstream` as a head (hop-by-hop fields dropped, names lower-cased) and its
/// payload. Backpressure: request bytes give the client its window back as they are written, held while the
/// upstream connection is full; response bytes pause the upstream's reading while more than `maxHeldResponseBytes`
/// wait for the client.
extension HTTP2ProxyStream {
    static let maxHeldResponseBytes = 256 * 1024

    func sendHTTP1(_ h: Host, _ c: Cluster) {
        let pool = HTTP1StreamPool.on(h, executor: d.executor, slot: manager.http1PoolSlot)
        let u: HTTP1StreamUpstream
        if let idle = pool.take() {
            u = idle
        } else {
            if c.admitConnection() != nil {
                logFlag(.upstreamOverflow)
                return reply(status: 503, reason: "upstream overflow")
            }
            u = HTTP1StreamUpstream(
                host: h, cluster: c, executor: d.executor, pool: pool, limits: manager.options.limits)
            u.connection = d.connection.connectUpstream(
                to: h, of: c, idleTimeout: c.config.idleTimeout ?? manager.options.upstreamIdleTimeout, handler: u)
            if u.lost { return connectFailed() }
        }
        let method = requestHeaders.first(":method").map { HTTPMethod($0) } ?? .get
        u.begin(self, method: method)
        h1 = u
        renderHTTP1Head(method: method)
        h1Scratch.withUnsafeBytes { u.connection.write(copying: $0) }
        if !replayBody.isEmpty { replayBody.withUnsafeBytes { writeHTTP1Body($0, to: u) } }
        if requestComplete && h1Chunked { u.connection.write(copying: Self.lastChunk) }
        h.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        h.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        if logRecord != nil { logSent(connectionID: u.connection?.id ?? 0) }
    }

    private static var lastChunk: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: ("0\r\n\r\n" as StaticString).utf8Start, count: 5)
    }

    /// The request head into `h1Scratch`.
    private func renderHTTP1Head(method: HTTPMethod) {
        let block = requestHeaders
        h1Scratch.removeAll(keepingCapacity: true)
        func add(_ s: StaticString) {
            h1Scratch.append(contentsOf: UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        }
        func add(_ b: UnsafeRawBufferPointer?) { if let b { h1Scratch.append(contentsOf: b) } }
        add(block.first(":method"))
        add(" ")
        add(block.first(":path") ?? UnsafeRawBufferPointer(start: ("/" as StaticString).utf8Start, count: 1))
        add(" HTTP/1.1\r\nhost: ")
        add(block.first(":authority") ?? block.first("host"))
        add("\r\n")
        var declaresLength = false
        for i in 0..<block.count {
            let name = block.name(i)
            if name.first == UInt8(ascii: ":") || Self.notForwarded(name) { continue }
            if name.elementsEqual("content-length".utf8) { declaresLength = true }
            add(name)
            add(": ")
            add(block.value(i))
            add("\r\n")
        }
        h1Chunked = !requestComplete && !declaresLength
        if h1Chunked {
            add("transfer-encoding: chunked\r\n")
        } else if requestComplete && !declaresLength && (!replayBody.isEmpty || !method.isSafe) {
            add("content-length: ")
            h1Scratch.append(contentsOf: String(replayBody.count).utf8)
            add("\r\n")
        }
        add("\r\n")
    }

    /// Connection-specific fields (RFC 9113 §8.2.2), `te`, and `host` (written from `:authority`).
    private static func notForwarded(_ name: UnsafeRawBufferPointer) -> Bool {
        HTTP1ToHTTP2.isConnectionSpecific(name) || name.elementsEqual(HTTP1ToHTTP2.bytes("te"))
            || name.elementsEqual(HTTP1ToHTTP2.bytes("host"))
    }

    func writeHTTP1Body(_ bytes: UnsafeRawBufferPointer, to u: HTTP1StreamUpstream) {
        guard !bytes.isEmpty else { return }
        if h1Chunked {
            var size = String(bytes.count, radix: 16)
            size += "\r\n"
            size.withUTF8 { u.connection.write(copying: UnsafeRawBufferPointer($0)) }
        }
        u.connection.write(copying: bytes)
        if h1Chunked { u.connection.write(copying: UnsafeRawBufferPointer(rebasing: Self.lastChunk[3..<5])) }
    }

    /// Request body for the HTTP/1.1 upstream; the client's window reopens as it is written (held while full).
    func http1RequestData(_ bytes: UnsafeRawBufferPointer, _ u: HTTP1StreamUpstream) {
        writeHTTP1Body(bytes, to: u)
        if u.writable { d.session.consume(stream: id, bytes: bytes.count) } else { h1Owed += bytes.count }
    }

    /// The request body ended: the last chunk, with `trailers` as its trailer section when the client sent some.
    func http1RequestEnded(_ u: HTTP1StreamUpstream, trailers: HTTP2HeaderBlock? = nil) {
        guard h1Chunked else { return }
        guard let trailers else { return u.connection.write(copying: Self.lastChunk) }
        HTTP1ToHTTP2.trailers(trailers, into: &h1Scratch)
        h1Scratch.withUnsafeBytes { u.connection.write(copying: $0) }
    }

    func http1Writable(_ w: Bool) {
        guard w, h1Owed > 0 else { return }
        d.session.consume(stream: id, bytes: h1Owed)
        h1Owed = 0
        d.flush()
    }

    // MARK: - The response (from HTTP1StreamUpstream)

    func http1ResponseHead(
        status: Int, head: HTTPResponseHead, headers: HTTPHeaderTable, source: UnsafeRawBufferPointer, endStream: Bool
    ) {
        let block = replyHeaders
        block.removeAll()
        block.append(":status", decimal: status)
        var name = [UInt8]()
        for i in 0..<headers.count where !headers.isHopByHop(at: i) {
            let n = headers.name(at: i, in: source)
            name.removeAll(keepingCapacity: true)
            for b in n { name.append(b >= 65 && b <= 90 ? b | 0x20 : b) }
            if name.withUnsafeBytes({ Self.notForwarded($0) }) { continue }
            name.withUnsafeBytes { block.append(name: $0, value: headers.value(at: i, in: source)) }
        }
        responseHeaders(block, endStream: endStream)
        d.flush()
    }

    func http1ResponseData(_ payload: UnsafeRawBufferPointer) {
        responseData(payload)
        if let u = h1, d.session.pendingBodyBytes(stream: id) > Self.maxHeldResponseBytes, !h1Paused {
            h1Paused = true
            u.connection?.pauseReading()
        }
        d.flush()
    }

    func http1ResponseEnded(reusable: Bool) {
        let u = h1
        detachHTTP1(reusable: reusable)
        responseEnded()
        d.flush()
        _ = u
    }

    /// The client took response bytes: an upstream paused for it reads again once little is left waiting.
    func http1ResponseDrained() {
        guard h1Paused, let u = h1, d.session.pendingBodyBytes(stream: id) < Self.maxHeldResponseBytes / 4 else { return }
        h1Paused = false
        u.connection?.resumeReading()
    }

    func http1Failed(_ why: StaticString) {
        detachHTTP1(reusable: false)
        if responseStarted {
            manager.http2Stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
            resetClientStream()
        } else {
            reply(status: 502, reason: why)
        }
        d.flush()
    }

    func http1Lost(wasConnected: Bool) {
        h1 = nil
        host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        if !responseDone {
            if responseStarted {
                manager.http2Stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
                logFlag(.upstreamConnectionTermination)
                resetClientStream()
            } else if !wasConnected {
                connectFailed()
            } else {
                logFlag(.upstreamConnectionTermination)
                reply(status: 503, reason: "upstream connection lost")
            }
        }
        d.flush()
    }

    /// The HTTP/1.1 connection leaves this stream: parked when the exchange ended in step, else closed.
    func detachHTTP1(reusable: Bool) {
        guard let u = h1 else { return }
        h1 = nil
        h1Paused = false
        host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        if h1Owed > 0 {
            d.session.consume(stream: id, bytes: h1Owed)
            h1Owed = 0
        }
        u.connection?.resumeReading()
        u.end(reusable: reusable && requestComplete && !u.lost)
    }
}
