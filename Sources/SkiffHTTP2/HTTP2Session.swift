import CNGHTTP2

/// Which end of the connection a session is.
public enum HTTP2Role: Sendable {
    /// Reads requests, sends responses (a listener's connection).
    case server
    /// Sends requests, reads responses (an upstream connection).
    case client
}

/// What a header block is, as the session classified it.
public enum HTTP2HeadersKind: Sendable, Equatable {
    /// A request's headers (server side).
    case request
    /// A response's headers (client side); an interim one (1xx) when its `:status` says so.
    case response
    /// Trailers after a body (either side); the stream's end.
    case trailers
}

/// What an HTTP/2 connection reports as its frames are read (`HTTP2Session.receive`) and written
/// (`HTTP2Session.drainOutput`). The bytes handed over are valid only during the call.
///
/// Threads: called on the thread that drives the session.
public protocol HTTP2SessionDelegate: AnyObject {
    /// A header block (HEADERS and its CONTINUATIONs) is complete.
    func http2Headers(stream: Int32, _ block: HTTP2HeaderBlock, kind: HTTP2HeadersKind, endStream: Bool)
    /// Body bytes. With `consumesManually`, the receive window reopens only when `consume` gives them back.
    func http2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// The peer's side of the stream ended (END_STREAM on a DATA frame).
    func http2EndStream(stream: Int32)
    /// A header block went past `maxHeaderListBytes`: the stream was reset (RST_STREAM) without being reported.
    func http2HeaderListTooLarge(stream: Int32)
    /// A GOAWAY left (this side's graceful close with code 0, or a connection error libnghttp2 or `fail` raised).
    func http2GoAwaySent(errorCode: UInt32)
    /// `bytes` of a body this side sends left its hands: framed in DATA (the peer's window took them), or dropped
    /// because the stream closed first. A proxy gives the same amount back to the side they came from.
    func http2Sent(stream: Int32, bytes: Int)
    /// The stream is closed: done, reset by either side (`errorCode` non-zero), or the connection went away.
    func http2StreamClosed(stream: Int32, errorCode: UInt32)
}

extension HTTP2SessionDelegate {
    public func http2HeaderListTooLarge(stream: Int32) {}
    public func http2GoAwaySent(errorCode: UInt32) {}
}

/// One HTTP/2 connection's protocol state: libnghttp2 (framing, HPACK, flow control, SETTINGS, PING, GOAWAY) driven
/// from the caller's loop with bytes in (`receive`) and bytes out (`drainOutput`), never a socket of its own.
/// Header blocks and bodies go to the delegate; requests, responses, bodies and trailers go in through
/// `HTTP2Session+Submit.swift`.
///
/// Abuse limits are set on the session from `HTTP2Limits`: at most `maxConcurrentStreams` open streams, a header list
/// bounded by `maxHeaderListBytes`, CONTINUATION floods cut at `maxContinuations` frames, SETTINGS floods at
/// `maxSettingsEntries`, unread ACKs (SETTINGS and PING floods) at `maxOutboundAcks`, and streams reset by the peer
/// (CVE-2023-44487, rapid reset) refused past a token bucket of `resetBurst` refilled at `resetsPerSecond`: the
/// connection then ends with a GOAWAY (libnghttp2's code for each).
///
/// Threads: one at a time (the connection's executor); the delegate is called from inside `receive` and `drainOutput`.
public final class HTTP2Session {
    /// What went wrong with the connection as a whole; it must be closed after its last output is written.
    public struct ConnectionError: Error, CustomStringConvertible, Equatable {
        public let code: Int32
        public var description: String { String(cString: nghttp2_strerror(code)) }
    }

    /// Not retained, and not `weak`: the delegate owns the session and outlives it, and a weak reference would
    /// move the delegate's reference counts to a side table (a slow path on every retain and release of it).
    public unowned(unsafe) var delegate: (any HTTP2SessionDelegate)?
    public let role: HTTP2Role
    public let limits: HTTP2Limits
    /// Received body bytes reopen the window only through `consume` (a proxy gives them back once the other side
    /// has taken them), not as soon as they are read.
    public let consumesManually: Bool
    var session: OpaquePointer?
    /// libnghttp2's allocations for this session: kept and reused instead of a malloc and free each.
    let pool = HTTP2MemoryPool()
    /// The header block being read (one at a time: a block's frames are contiguous on the connection), and the same
    /// unretained for the per-field callback.
    private(set) var block = HTTP2HeaderBlock()
    private var blockRef: Unmanaged<HTTP2HeaderBlock>
    /// The header list size of `block` as RFC 9113 counts it.
    var blockListBytes = 0
    /// Bodies waiting for flow-control window, by stream, and spare ones for later streams.
    let bodies: HTTP2StreamTable<HTTP2OutboundBody>
    var spareBodies: [HTTP2OutboundBody] = []

    public init(
        role: HTTP2Role, limits: HTTP2Limits = HTTP2Limits(), consumesManually: Bool = false,
        delegate: (any HTTP2SessionDelegate)? = nil
    ) {
        self.role = role
        self.limits = limits
        self.consumesManually = consumesManually
        self.delegate = delegate
        blockRef = Unmanaged.passUnretained(block)
        bodies = HTTP2StreamTable(capacity: Int(limits.maxConcurrentStreams))
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, HTTP2Callbacks.onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, HTTP2Callbacks.onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, HTTP2Callbacks.onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, HTTP2Callbacks.onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, HTTP2Callbacks.onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, HTTP2Callbacks.onFrameSent)
        var options: OpaquePointer?
        nghttp2_option_new(&options)
        defer { nghttp2_option_del(options) }
        nghttp2_option_set_max_continuations(options, limits.maxContinuations)
        nghttp2_option_set_max_settings(options, limits.maxSettingsEntries)
        nghttp2_option_set_stream_reset_rate_limit(options, limits.resetBurst, limits.resetsPerSecond)
        nghttp2_option_set_max_outbound_ack(options, limits.maxOutboundAcks)
        if consumesManually { nghttp2_option_set_no_auto_window_update(options, 1) }
        let me = Unmanaged.passUnretained(self).toOpaque()
        var mem = pool.mem()
        switch role {
        case .server: nghttp2_session_server_new3(&session, callbacks, me, options, &mem)
        case .client: nghttp2_session_client_new3(&session, callbacks, me, options, &mem)
        }
        var settings = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: limits.maxConcurrentStreams),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: limits.initialWindowSize),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: limits.maxHeaderListBytes),
        ]
        if role == .client {
            // A client announces no stream limit for the server (it opens none) and no server push.
            settings[0] = nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0)
        }
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        if limits.connectionWindowSize > 65_535 {
            nghttp2_session_set_local_window_size(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(clamping: limits.connectionWindowSize))
        }
    }

    /// The session goes first: it frees into `pool`.
    deinit { nghttp2_session_del(session) }

    /// Reads `bytes` from the peer (the client's connection preface first, server side). Events reach the delegate
    /// before it returns.
    public func receive(_ bytes: UnsafeRawBufferPointer) -> Result<Void, ConnectionError> {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .success(()) }
        let n = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        return n < 0 ? .failure(ConnectionError(code: Int32(n))) : .success(())
    }

    /// Hands every byte the session has to send (the preface and SETTINGS, ACKs, headers, DATA, WINDOW_UPDATE,
    /// GOAWAY) to `write`, in chunks valid only during each call.
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

    /// Whether the session has bytes to send.
    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Takes the header block just read (from inside `http2Headers`) without copying it, leaving `spare` (emptied)
    /// to read the next one into.
    public func takeBlock(leaving spare: HTTP2HeaderBlock) -> HTTP2HeaderBlock {
        let taken = block
        spare.removeAll()
        block = spare
        blockRef = Unmanaged.passUnretained(spare)
        return taken
    }

    /// Gives `bytes` of `stream`'s received body back to the stream's flow-control window (with `consumesManually`).
    /// The connection's window is given back as bytes arrive (`data`), so a stream whose bytes wait (a slow reader
    /// on the other side) holds back only itself, never the other streams of a shared connection; what waits in
    /// Skiff stays bounded by one stream window per stream.
    public func consume(stream: Int32, bytes: Int) {
        guard consumesManually, bytes > 0 else { return }
        nghttp2_session_consume_stream(session, stream, bytes)
    }

    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (unbounded until its SETTINGS arrive: libnghttp2 assumes 100).
    public var peerMaxConcurrentStreams: Int {
        Int(nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS))
    }

    /// Whether the peer sent GOAWAY (no new stream may start on this connection).
    public var peerWentAway: Bool { nghttp2_session_check_request_allowed(session) == 0 && role == .client }

    /// Resets `stream` with `code` (RST_STREAM).
    public func reset(stream: Int32, code: UInt32 = UInt32(NGHTTP2_INTERNAL_ERROR.rawValue)) {
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code)
    }

    /// Starts a graceful close: GOAWAY naming the last stream read; streams under way finish.
    public func goAway(code: UInt32 = UInt32(NGHTTP2_NO_ERROR.rawValue)) {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, code, nil, 0)
    }

    /// Ends the connection for a protocol error: GOAWAY with `code` (PROTOCOL_ERROR by default).
    public func fail(code: UInt32 = UInt32(NGHTTP2_PROTOCOL_ERROR.rawValue)) {
        nghttp2_session_terminate_session(session, code)
    }

    // MARK: - From the callbacks

    func beginHeaders() {
        block.removeAll()
        blockListBytes = 0
    }

    /// Adds a field to the block being read; false when the block has gone past `maxHeaderListBytes` (RFC 9113
    /// counts each field's name and value plus 32), which resets the stream.
    func header(stream: Int32, _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        blockListBytes += name.count + value.count + 32
        if blockListBytes > Int(limits.maxHeaderListBytes) {
            if blockListBytes - (name.count + value.count + 32) <= Int(limits.maxHeaderListBytes) {
                delegate?.http2HeaderListTooLarge(stream: stream)
            }
            return false
        }
        blockRef._withUnsafeGuaranteedRef { $0.append(name: name, value: value) }
        return true
    }

    func frameReceived(_ frame: UnsafePointer<nghttp2_frame>) {
        let hd = frame.pointee.hd
        let endStream = hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch Int(hd.type) {
        case Int(NGHTTP2_HEADERS.rawValue):
            let kind: HTTP2HeadersKind
            switch role {
            case .server: kind = frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST ? .request : .trailers
            case .client: kind = block.index(of: ":status") != nil ? .response : .trailers
            }
            delegate?.http2Headers(stream: hd.stream_id, block, kind: kind, endStream: endStream)
        case Int(NGHTTP2_DATA.rawValue):
            if endStream { delegate?.http2EndStream(stream: hd.stream_id) }
        default:
            break
        }
    }

    func frameSent(_ frame: UnsafePointer<nghttp2_frame>) {
        if frame.pointee.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue) {
            delegate?.http2GoAwaySent(errorCode: frame.pointee.goaway.error_code)
        }
    }

    func data(stream: Int32, _ bytes: UnsafeRawBufferPointer) {
        if consumesManually { nghttp2_session_consume_connection(session, bytes.count) }
        delegate?.http2Data(stream: stream, bytes)
    }

    func streamClosed(_ stream: Int32, _ code: UInt32) {
        if let body = bodies.remove(stream) {
            let unsent = body.bytes.count - body.offset
            if unsent > 0 { delegate?.http2Sent(stream: stream, bytes: unsent) }
            recycle(body)
        }
        delegate?.http2StreamClosed(stream: stream, errorCode: code)
    }

    /// Runs `body` on the session `userData` points at, without retaining it (libnghttp2 calls back only from
    /// inside the session's own calls, while its owner holds it).
    @inline(__always)
    static func with<R>(_ userData: UnsafeMutableRawPointer?, _ body: (HTTP2Session) -> R) -> R {
        Unmanaged<HTTP2Session>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
    }
}
