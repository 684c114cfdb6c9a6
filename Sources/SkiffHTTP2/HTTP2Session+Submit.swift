import CNGHTTP2

/// What this side sends: requests (client), responses (server), bodies as the peer's window allows, trailers.
extension HTTP2Session {
    /// Opens a stream with the request `headers` (pseudo-headers first); without `endStream` a body follows through
    /// `sendData`. Returns the new stream's id, or nil when libnghttp2 refused it (no stream ids left, GOAWAY seen).
    public func submitRequest(_ headers: HTTP2HeaderBlock, endStream: Bool) -> Int32? {
        let body = endStream ? nil : takeBody()
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: HTTP2Callbacks.readBody)
        let id = headers.withNV { nva, count in
            endStream
                ? nghttp2_submit_request(session, nil, nva, count, nil, nil)
                : nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        guard id > 0 else {
            if let body { recycle(body) }
            return nil
        }
        if let body { bodies[id] = body }
        return id
    }

    /// Answers `stream` with `headers` (`:status` first); without `endStream` a body follows through `sendData`.
    @discardableResult
    public func submitResponse(stream: Int32, _ headers: HTTP2HeaderBlock, endStream: Bool) -> Bool {
        let body = endStream ? nil : takeBody()
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: HTTP2Callbacks.readBody)
        if let body { bodies[stream] = body }
        let rc = headers.withNV { nva, count in
            endStream
                ? nghttp2_submit_response(session, stream, nva, count, nil)
                : nghttp2_submit_response(session, stream, nva, count, &provider)
        }
        if rc != 0, let body = bodies.remove(stream) { recycle(body) }
        return rc == 0
    }

    /// Answers `stream` with `status`, `headers` (lower-case names) and a whole body (tests, local replies).
    @discardableResult
    public func respond(
        stream: Int32, status: Int, headers: [(String, String)] = [], body: [UInt8] = [], endStream: Bool = true
    ) -> Bool {
        let block = HTTP2HeaderBlock()
        block.append(":status", decimal: status)
        for (n, v) in headers { block.append(n, v) }
        let noBody = body.isEmpty && endStream
        guard submitResponse(stream: stream, block, endStream: noBody) else { return false }
        if !noBody { body.withUnsafeBytes { sendData(stream: stream, $0, endStream: endStream) } }
        return true
    }

    /// More body for `stream` (a request's or a response's); `endStream` ends it.
    public func sendData(stream: Int32, _ bytes: UnsafeRawBufferPointer, endStream: Bool) {
        guard let body = bodies[stream] else { return }
        body.bytes.append(contentsOf: bytes)
        if endStream { body.ended = true }
        nghttp2_session_resume_data(session, stream)
    }

    /// Ends `stream`'s body with `trailers` (the HEADERS frame that closes this side).
    public func sendTrailers(stream: Int32, _ trailers: HTTP2HeaderBlock) {
        guard let body = bodies[stream] else { return }
        for i in 0..<trailers.count { body.trailers.append(name: trailers.name(i), value: trailers.value(i)) }
        body.hasTrailers = true
        body.ended = true
        nghttp2_session_resume_data(session, stream)
    }

    /// Bytes of `stream`'s body not yet framed (waiting for the peer's window).
    public func pendingBodyBytes(stream: Int32) -> Int {
        guard let body = bodies[stream] else { return 0 }
        return body.bytes.count - body.offset
    }

    // MARK: - From the read callback

    /// Copies up to `length` bytes of `stream`'s body into `buf`: (count, ended, has trailers); nil to wait for more.
    func readBody(_ stream: Int32, into buf: UnsafeMutablePointer<UInt8>, length: Int) -> (Int, Bool, Bool)? {
        guard let body = bodies[stream] else { return (0, true, false) }
        let n = min(length, body.bytes.count - body.offset)
        if n > 0 {
            body.bytes.withUnsafeBufferPointer { buf.update(from: $0.baseAddress! + body.offset, count: n) }
            body.offset += n
        }
        let drained = body.offset == body.bytes.count
        if drained {
            body.bytes.removeAll(keepingCapacity: true)
            body.offset = 0
        }
        if n == 0 && !body.ended { return nil }
        if n > 0 { delegate?.http2Sent(stream: stream, bytes: n) }
        return (n, drained && body.ended, drained && body.ended && body.hasTrailers)
    }

    /// Submits the trailers kept for `stream` (from the read callback that ended its DATA).
    func submitKeptTrailers(_ stream: Int32) {
        guard let body = bodies[stream] else { return }
        body.trailers.withNV { nva, count in _ = nghttp2_submit_trailer(session, stream, nva, count) }
    }

    func takeBody() -> HTTP2OutboundBody { spareBodies.popLast() ?? HTTP2OutboundBody() }

    func recycle(_ body: HTTP2OutboundBody) {
        body.clear()
        if spareBodies.count < 64 { spareBodies.append(body) }
    }
}
