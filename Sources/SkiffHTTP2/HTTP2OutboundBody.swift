/// A body this side sends on one stream, waiting for the peer's flow-control window: the bytes not yet framed, whether
/// the sender has ended it, and the trailers to end it with. Kept by its `HTTP2Session` while the stream is open and
/// reused for a later stream. Confined to the session's thread.
///
/// What it holds is bounded by the sender: a proxy gives received bytes back to their own connection's window only
/// once they left here (`HTTP2SessionDelegate.http2Sent`), so at most one receive window waits per stream.
final class HTTP2OutboundBody {
    var bytes: [UInt8] = []
    var offset = 0
    var ended = false
    /// Trailers to send after the last byte (the HEADERS frame that ends the stream).
    let trailers = HTTP2HeaderBlock()
    var hasTrailers = false

    init() { bytes.reserveCapacity(16 * 1024) }

    func clear() {
        bytes.removeAll(keepingCapacity: true)
        offset = 0
        ended = false
        trailers.removeAll()
        hasTrailers = false
    }
}
