import SkiffNet
import SkiffProtocol
import SkiffTelemetry
import SkiffUpstream

/// An RPC request being sampled for the live tap (`RequestTap`): made when the request is routed (only while the tap
/// is watched and the executor's budget allows), carried by its stream, published when the stream ends. Confined to
/// the executor of the client connection (which is also its upstream's).
final class RPCSampleDraft {
    let lane: RequestLane
    var record: TelemetryRequestSample
    let startNs: UInt64

    /// Samples the request in `frame` (described by `info`) if the executor's budget allows.
    static func begin(
        tap: RequestTap, executor: any EventExecutor, listener: String, proto: StaticString,
        frame: UnsafeRawBufferPointer, info: RPCFrameInfo
    ) -> RPCSampleDraft? {
        let lane = tap.lane(executorIndex: executor.executorIndex)
        let now = MonotonicClock.now()
        guard lane.admit(nowNs: now) else { return nil }
        var r = TelemetryRequestSample()
        r.listener = listener
        r.proto = proto.description
        if let m = info.method { r.method = String(decoding: UnsafeRawBufferPointer(rebasing: frame[m]), as: UTF8.self) }
        if let s = info.service {
            r.authority = String(decoding: UnsafeRawBufferPointer(rebasing: frame[s]), as: UTF8.self)
        }
        r.bytesIn = UInt64(frame.count)
        return RPCSampleDraft(lane: lane, record: r, startNs: now)
    }

    private init(lane: RequestLane, record: TelemetryRequestSample, startNs: UInt64) {
        self.lane = lane
        self.record = record
        self.startNs = startNs
    }

    /// Publishes the sample: `status` is the codec's response status; `flags` `LR` when Skiff answered itself.
    func publish(
        status: Int, cluster: Cluster?, host: Host?, bytesOut: Int = 0, flags: StaticString = "",
        reason: StaticString = ""
    ) {
        var r = record
        r.ts = HTTPExchange.wallMillis()
        r.status = status
        r.cluster = cluster?.name ?? ""
        r.host = host.map { "\($0.address)" } ?? ""
        r.latencyUs = (MonotonicClock.now() &- startNs) / 1000
        r.bytesOut = UInt64(bytesOut)
        r.flags = flags.description
        r.reason = reason.description
        lane.push(&r)
    }
}
