import SkiffHTTP2
import SkiffNet
import SkiffTelemetry

/// The live request tap for HTTP/2 streams (the console's Requests view): while nobody watches, `start` pays one
/// relaxed load. A stream's line shows `h2` (or `grpc`) as its protocol.
extension HTTP2ProxyStream {
    func beginSample(_ block: HTTP2HeaderBlock) {
        let lane = manager.tap.lane(executorIndex: d.executor.executorIndex)
        guard lane.admit(nowNs: startNs) else { return }
        var r = TelemetryRequestSample()
        r.listener = d.connection.label
        r.proto = grpc ? "grpc" : "h2"
        r.method = block.first(":method").map { String(decoding: $0, as: UTF8.self) } ?? ""
        r.authority = block.first(":authority").map { String(decoding: $0, as: UTF8.self) } ?? ""
        r.path = block.first(":path").map { String(decoding: $0, as: UTF8.self) } ?? ""
        sample = r
        sampling = true
    }

    func endSample(status: Int, flags: StaticString, reason: StaticString = "") {
        guard sampling else { return }
        sampling = false
        var r = sample
        r.ts = HTTPExchange.wallMillis()
        r.status = status
        r.cluster = cluster?.name ?? ""
        r.host = host.map { "\($0.address)" } ?? ""
        r.latencyUs = (MonotonicClock.now() &- startNs) / 1000
        r.bytesIn = UInt64(requestBodyBytes)
        r.bytesOut = UInt64(responseBodyBytes)
        r.flags = flags.description
        r.reason = reason.description
        manager.tap.lane(executorIndex: d.executor.executorIndex).push(&r)
    }
}
