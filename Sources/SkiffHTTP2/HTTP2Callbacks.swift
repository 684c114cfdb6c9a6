import CNGHTTP2

/// The C callbacks libnghttp2 calls, each forwarding to the session its user data points at.
enum HTTP2Callbacks {
    static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, _, userData in
        HTTP2Session.with(userData) { $0.beginHeaders() }
        return 0
    }

    static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
        let fits = HTTP2Session.with(userData) {
            $0.header(
                stream: frame?.pointee.hd.stream_id ?? 0,
                UnsafeRawBufferPointer(start: name, count: nameLength),
                UnsafeRawBufferPointer(start: value, count: valueLength))
        }
        // A temporal failure resets this stream only (RST_STREAM), the connection goes on.
        return fits ? 0 : Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
    }

    static let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
        if let frame { HTTP2Session.with(userData) { $0.frameReceived(frame) } }
        return 0
    }

    static let onFrameSent: nghttp2_on_frame_send_callback = { _, frame, userData in
        if let frame { HTTP2Session.with(userData) { $0.frameSent(frame) } }
        return 0
    }

    static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, stream, data, length, userData in
        HTTP2Session.with(userData) { $0.data(stream: stream, UnsafeRawBufferPointer(start: data, count: length)) }
        return 0
    }

    static let onStreamClose: nghttp2_on_stream_close_callback = { _, stream, code, userData in
        HTTP2Session.with(userData) { $0.streamClosed(stream, code) }
        return 0
    }

    static let readBody: nghttp2_data_source_read_callback = { _, stream, buf, length, flags, _, userData in
        guard let buf, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        return HTTP2Session.with(userData) { session in
            guard let (n, eof, trailers) = session.readBody(stream, into: buf, length: length) else {
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
            if eof {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                if trailers {
                    // The stream ends with the trailers' HEADERS frame instead.
                    flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                    session.submitKeptTrailers(stream)
                }
            }
            return n
        }
    }
}
