import SkiffNet

/// `stream_idle_timeout`: a stream on which nothing moves either way (no request or response frame, no response
/// bytes taken by the client) for that long ends — answered 408 (gRPC: DEADLINE_EXCEEDED) before its response
/// began, reset (CANCEL) after, its upstream stream reset too. Bounds what the route timeout does not: a stream
/// whose response started, a client that holds a stream open without sending, one that stops reading.
///
/// Checked by the client connection's timer (about once a second) against the stream's `HTTP2StreamIdleness`, so a
/// stream ends between one and two sweeps past the timeout. Executor-confined, as the stream.
extension HTTP2ProxyStream {
    func checkIdle(now: UInt64, timeoutNs: UInt64) {
        guard idleness.quietFor(timeoutNs, now: now) else { return }
        // Answered 408 a timeout ago and the client still holds its half open: reset, counted once.
        if idleness.answered { return resetClient(code: HTTP2ErrorCodes.cancel) }
        idleness.answered = true
        manager.http2Stats.streamIdleTimeouts.wrappingAdd(1, ordering: .relaxed)
        logFlag(.streamIdleTimeout)
        if !responseStarted {
            return reply(status: 408, reason: "stream idle timeout")
        }
        cancelUpstream()
        resetClient(code: HTTP2ErrorCodes.cancel)
    }
}
