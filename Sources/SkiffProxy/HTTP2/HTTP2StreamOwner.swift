import SkiffHTTP2
import SkiffNet

/// Whose streams an `HTTP2Upstream` carries: every connection serves one kind, fixed by its pool.
enum HTTP2StreamOwnerKind {
    /// HTTP/2 clients' streams (`HTTP2ProxyStream`, an `Http2` listener).
    case http2Stream
    /// HTTP/1.1 clients' exchanges, translated (`HTTPExchange+HTTP2.swift`, an `Http1` listener).
    case http1Exchange
}

/// What an `HTTP2Upstream` tells the owner of one of its streams. The upstream keeps its owners as plain objects and
/// turns one into this by a switch on its kind (a closed set): a direct upcast, no generic metadata or dynamic cast on
/// the hot path. `client` is where the owner's output gathers, flushed once at the end of the upstream event that
/// wrote to it, so frames or bytes for many streams leave together.
protocol HTTP2StreamOwner: AnyObject {
    var client: any HTTP2FlushTarget { get }
    func responseHeaders(_ block: HTTP2HeaderBlock, endStream: Bool)
    func responseData(_ bytes: UnsafeRawBufferPointer)
    func responseEnded()
    func responseTrailers(_ block: HTTP2HeaderBlock)
    /// The upstream's window took `bytes` of this stream's request body.
    func requestBytesSent(_ bytes: Int)
    /// The upstream stream closed (its response is complete, or the server reset it).
    func upstreamStreamClosed(errorCode: UInt32)
    /// The upstream connection went away with this stream open.
    func upstreamLost(reason: CloseReason, wasConnected: Bool)
}

/// What an upstream event leaves output in: flushed once when the event is handled (`dirty` while listed).
protocol HTTP2FlushTarget: AnyObject {
    var dirty: Bool { get set }
    func flush()
}

extension HTTP2Upstream {
    /// The owner object `o` (kept in `streams`) as what it is.
    @inline(__always) func owner(_ o: AnyObject) -> any HTTP2StreamOwner {
        // Each kind has its own pools (`HTTP2HostPool`'s subclasses); debug builds check it on every frame.
        switch ownerKind {
        case .http2Stream:
            assert(o is HTTP2ProxyStream, "an HTTP/2 stream pool's upstream carries \(type(of: o))")
            return unsafeDowncast(o, to: HTTP2ProxyStream.self)
        case .http1Exchange:
            assert(o is HTTPExchange, "an HTTP/1.1 exchange pool's upstream carries \(type(of: o))")
            return unsafeDowncast(o, to: HTTPExchange.self)
        }
    }
}
