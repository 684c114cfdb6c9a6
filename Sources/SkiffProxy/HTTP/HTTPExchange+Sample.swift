import Glibc
import SkiffNet
import SkiffProtocol
import SkiffTelemetry

/// A request being sampled for the live tap: its lane and the record filled in at the start (method, authority,
/// path: the head's bytes are gone by the end) and completed at the end. One per exchange, made the first time the
/// exchange samples and reused after. Confined to the exchange's executor.
final class HTTPSampleDraft {
    var lane: RequestLane
    var record = TelemetryRequestSample()

    init(lane: RequestLane) { self.lane = lane }
}

/// The live request tap (`RequestTap`): while nobody watches, `start` pays one relaxed load and nothing else.
extension HTTPExchange {
    /// Called by `start` only when the tap is watched: takes the executor's budget and keeps the request's line.
    func beginSample(head: UnsafeRawBufferPointer) {
        let lane = manager.tap.lane(executorIndex: executor.executorIndex)
        guard lane.admit(nowNs: startNs) else { return }
        let draft = sampleDraft ?? HTTPSampleDraft(lane: lane)
        sampleDraft = draft
        draft.lane = lane
        let request = d.request
        var r = TelemetryRequestSample()
        r.listener = connection.label
        r.proto = "http1"
        r.method = String(decoding: request.methodRange.bytes(in: head), as: UTF8.self)
        if let a = request.hostRange { r.authority = String(decoding: a.bytes(in: head), as: UTF8.self) }
        r.path = String(decoding: request.targetRange.bytes(in: head), as: UTF8.self)
        // A small body travels with the head and is never counted by the body tracker: its declared length.
        if case .contentLength(let len) = request.bodyKind { r.bytesIn = UInt64(len) }
        draft.record = r
        sampling = true
    }

    /// Completes and publishes the sample of this request, if it is sampled. `status` 0: no response (cut).
    func endSample(status: Int, flags: StaticString = "", reason: StaticString = "", bytesOut: Int = 0) {
        guard sampling, let draft = sampleDraft else { return }
        sampling = false
        var r = draft.record
        r.ts = Self.wallMillis()
        r.status = status
        r.cluster = cluster?.name ?? ""
        r.host = host.map { "\($0.address)" } ?? ""
        r.latencyUs = (MonotonicClock.now() &- startNs) / 1000
        r.bytesIn = max(r.bytesIn, UInt64(requestBody.bodyBytes))
        r.bytesOut = UInt64(max(0, bytesOut))
        var f = flags.description
        if triedHosts.count > 1 { f = f.isEmpty ? "RT" : f + ",RT" }
        r.flags = f
        r.reason = reason.description
        draft.lane.push(&r)
    }

    static func wallMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
    }
}
