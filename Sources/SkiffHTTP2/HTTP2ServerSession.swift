import CNGHTTP2

/// What a server-side HTTP/2 connection reports as its frames are read (`HTTP2ServerSession.receive`). The bytes
/// handed over are valid only during the call.
///
/// Threads: called on the thread that calls `receive`.
public protocol HTTP2ServerSessionDelegate: AnyObject {
    /// A request's header block (HEADERS and CONTINUATION) is complete: pseudo-headers and headers in `block`.
    func http2Request(stream: Int32, headers block: HTTP2HeaderBlock, endStream: Bool)
    /// Request body bytes.
    func http2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// The request's trailers (a HEADERS frame after the body); the stream's end.
    func http2Trailers(stream: Int32, headers block: HTTP2HeaderBlock)
    /// The client's side of the stream ended (END_STREAM on a DATA frame).
    func http2EndStream(stream: Int32)
    /// The stream is closed: answered, reset by either side (`errorCode` non-zero), or the connection went away.
    func http2StreamClosed(stream: Int32, errorCode: UInt32)
}

/// One HTTP/2 connection's protocol state, server side: libnghttp2 (framing, HPACK, flow control, SETTINGS, PING,
/// GOAWAY) driven from the caller's loop with bytes in (`receive`) and bytes out (`drainOutput`), never a socket of
/// its own. Requests and their bodies go to the delegate; responses go in with `respond` and `sendData`.
///
/// Abuse limits are set on the session from `HTTP2Limits`: at most `maxConcurrentStreams` open streams, a header list
/// bounded by `maxHeaderListBytes`, CONTINUATION floods cut at `maxContinuations` frames, SETTINGS floods at
/// `maxSettingsEntries`, and streams reset by the client (CVE-2023-44487, rapid reset) refused past a token bucket of
/// `resetBurst` refilled at `resetsPerSecond`: the connection then ends with a GOAWAY (INTERNAL_ERROR, libnghttp2's
/// code for it).
///
/// Threads: one at a time (the connection's executor); the delegate is called from inside `receive` and `drainOutput`.
public final class HTTP2ServerSession {
    /// What went wrong with the connection as a whole; it must be closed after its last output is written.
    public struct ConnectionError: Error, CustomStringConvertible, Equatable {
        public let code: Int32
        public var description: String { String(cString: nghttp2_strerror(code)) }
    }

    public weak var delegate: (any HTTP2ServerSessionDelegate)?
    public let limits: HTTP2Limits
    private var session: OpaquePointer?
    /// The header block being read (one at a time: a block's frames are contiguous on the connection).
    private let block = HTTP2HeaderBlock()
    /// Response bodies waiting for flow-control window, by stream.
    private var bodies: [Int32: HTTP2OutboundBody] = [:]

    public init(limits: HTTP2Limits = HTTP2Limits(), delegate: (any HTTP2ServerSessionDelegate)? = nil) {
        self.limits = limits
        self.delegate = delegate
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, HTTP2Callbacks.onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, HTTP2Callbacks.onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, HTTP2Callbacks.onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, HTTP2Callbacks.onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, HTTP2Callbacks.onStreamClose)
        var options: OpaquePointer?
        nghttp2_option_new(&options)
        defer { nghttp2_option_del(options) }
        nghttp2_option_set_max_continuations(options, limits.maxContinuations)
        nghttp2_option_set_max_settings(options, limits.maxSettingsEntries)
        nghttp2_option_set_stream_reset_rate_limit(options, limits.resetBurst, limits.resetsPerSecond)
        nghttp2_option_set_max_outbound_ack(options, limits.maxOutboundAcks)
        nghttp2_session_server_new2(&session, callbacks, Unmanaged.passUnretained(self).toOpaque(), options)
        var settings = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: limits.maxConcurrentStreams),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: limits.initialWindowSize),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: limits.maxHeaderListBytes),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
    }

    deinit { nghttp2_session_del(session) }

    /// Reads `bytes` from the client (the connection preface first). Events reach the delegate before it returns.
    public func receive(_ bytes: UnsafeRawBufferPointer) -> Result<Void, ConnectionError> {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .success(()) }
        let n = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        return n < 0 ? .failure(ConnectionError(code: Int32(n))) : .success(())
    }

    /// Hands every byte the session has to send (SETTINGS, ACKs, responses, WINDOW_UPDATE, GOAWAY) to `write`, in
    /// chunks valid only during each call.
    public func drainOutput(_ write: (UnsafeRawBufferPointer) -> Void) -> Result<Void, ConnectionError> {
        while true {
            var data: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &data)
            if n < 0 { return .failure(ConnectionError(code: Int32(n))) }
            if n == 0 { return .success(()) }
            write(UnsafeRawBufferPointer(start: data, count: n))
        }
    }

    /// Whether the session still reads or writes: false once both sides are done (after GOAWAY, or a fatal error).
    public var isOpen: Bool { nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0 }

    /// Answers `stream` with `status` and `headers` (lower-case names, no hop-by-hop fields). With `body`, the
    /// bytes follow in DATA frames as the client's window allows; `endStream` ends the response after them
    /// (otherwise `sendData` adds more, and `finish` ends it).
    public func respond(
        stream: Int32, status: Int, headers: [(String, String)] = [], body: [UInt8] = [], endStream: Bool = true
    ) -> Bool {
        var fields = [(":status", String(status))] + headers
        let outbound = HTTP2OutboundBody(bytes: body, ended: endStream)
        let noBody = body.isEmpty && endStream
        if !noBody { bodies[stream] = outbound }
        var provider = nghttp2_data_provider(
            source: nghttp2_data_source(ptr: nil), read_callback: HTTP2Callbacks.readBody)
        let rc = HTTP2HeaderList.withNV(&fields) { nva, count in
            noBody
                ? nghttp2_submit_response(session, stream, nva, count, nil)
                : nghttp2_submit_response(session, stream, nva, count, &provider)
        }
        if rc != 0 { bodies[stream] = nil }
        return rc == 0
    }

    /// More response body for `stream`; `endStream` ends it.
    public func sendData(stream: Int32, _ bytes: UnsafeRawBufferPointer, endStream: Bool) {
        guard let body = bodies[stream] else { return }
        body.bytes.append(contentsOf: bytes)
        body.ended = endStream
        nghttp2_session_resume_data(session, stream)
    }

    /// Resets `stream` with `code` (RST_STREAM).
    public func reset(stream: Int32, code: UInt32 = UInt32(NGHTTP2_INTERNAL_ERROR.rawValue)) {
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code)
    }

    /// Starts a graceful close: GOAWAY naming the last stream read; streams under way finish.
    public func goAway(code: UInt32 = UInt32(NGHTTP2_NO_ERROR.rawValue)) {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, code, nil, 0)
    }

    // MARK: - From the callbacks

    fileprivate func beginHeaders() { block.removeAll() }

    fileprivate func header(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        block.append(name: name, value: value)
    }

    fileprivate func frameReceived(_ frame: UnsafePointer<nghttp2_frame>) {
        let hd = frame.pointee.hd
        let endStream = hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch Int(hd.type) {
        case Int(NGHTTP2_HEADERS.rawValue):
            if frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                delegate?.http2Request(stream: hd.stream_id, headers: block, endStream: endStream)
            } else {
                delegate?.http2Trailers(stream: hd.stream_id, headers: block)
            }
        case Int(NGHTTP2_DATA.rawValue):
            if endStream { delegate?.http2EndStream(stream: hd.stream_id) }
        default:
            break
        }
    }

    fileprivate func data(stream: Int32, _ bytes: UnsafeRawBufferPointer) { delegate?.http2Data(stream: stream, bytes) }

    fileprivate func streamClosed(_ stream: Int32, _ code: UInt32) {
        bodies[stream] = nil
        delegate?.http2StreamClosed(stream: stream, errorCode: code)
    }

    /// Copies up to `length` bytes of `stream`'s response body into `buf`; `eof` when it ended; nil to wait.
    fileprivate func readBody(_ stream: Int32, into buf: UnsafeMutablePointer<UInt8>, length: Int) -> (Int, Bool)? {
        guard let body = bodies[stream] else { return (0, true) }
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
        return (n, drained && body.ended)
    }

    fileprivate static func from(_ userData: UnsafeMutableRawPointer?) -> HTTP2ServerSession {
        Unmanaged<HTTP2ServerSession>.fromOpaque(userData!).takeUnretainedValue()
    }
}

/// A response body waiting for the client's flow-control window. Confined to its session.
final class HTTP2OutboundBody {
    var bytes: [UInt8]
    var offset = 0
    var ended: Bool

    init(bytes: [UInt8], ended: Bool) {
        self.bytes = bytes
        self.ended = ended
    }
}

/// The C callbacks libnghttp2 calls, each forwarding to the session its user data points at.
enum HTTP2Callbacks {
    static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, _, userData in
        HTTP2ServerSession.from(userData).beginHeaders()
        return 0
    }

    static let onHeader: nghttp2_on_header_callback = { _, _, name, nameLength, value, valueLength, _, userData in
        HTTP2ServerSession.from(userData).header(
            UnsafeRawBufferPointer(start: name, count: nameLength),
            UnsafeRawBufferPointer(start: value, count: valueLength))
        return 0
    }

    static let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
        if let frame { HTTP2ServerSession.from(userData).frameReceived(frame) }
        return 0
    }

    static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, stream, data, length, userData in
        HTTP2ServerSession.from(userData).data(stream: stream, UnsafeRawBufferPointer(start: data, count: length))
        return 0
    }

    static let onStreamClose: nghttp2_on_stream_close_callback = { _, stream, code, userData in
        HTTP2ServerSession.from(userData).streamClosed(stream, code)
        return 0
    }

    static let readBody: nghttp2_data_source_read_callback = { _, stream, buf, length, flags, _, userData in
        guard let buf, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        guard let (n, eof) = HTTP2ServerSession.from(userData).readBody(stream, into: buf, length: length) else {
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        if eof { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
        return n
    }
}
