import SkiffHTTP2
import SkiffNet

/// Skiff's own answers on an HTTP/2 stream (no route, a direct response or redirect, no healthy upstream, overflow,
/// timeout, a lost upstream), each with `server: skiff` and `x-skiff-reason`. A gRPC request gets a gRPC error
/// instead of an HTTP one: `:status 200` with `grpc-status` and `grpc-message` in one HEADERS frame that ends the
/// stream (gRPC's Trailers-Only), 14 UNAVAILABLE for a missing or lost upstream, 4 DEADLINE_EXCEEDED for a timeout
/// (`GRPCWire.status(forHTTP:)`).
extension HTTP2ProxyStream {
    func reply(status: Int, reason: StaticString, body: [UInt8]? = nil, location: [UInt8]? = nil) {
        cancelUpstream()
        timer.cancel()
        guard !responseStarted else { return }
        responseStarted = true
        // This body is Skiff's own: none of it is the upstream's to give back.
        windowOwner = nil
        manager.stats.localReplies.wrappingAdd(1, ordering: .relaxed)
        let reasonBytes = UnsafeRawBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount)
        replyHeaders.removeAll()
        if grpc {
            let code = GRPCWire.status(forHTTP: status)
            replyHeaders.append(":status", decimal: 200)
            replyHeaders.append("content-type", "application/grpc")
            replyHeaders.append("grpc-status", decimal: code.rawValue)
            replyHeaders.append("grpc-message", value: reasonBytes)
            replyHeaders.append("server", "skiff")
            replyHeaders.append("x-skiff-reason", value: reasonBytes)
            self.status = 200
            countResponse(200)
            d.session.submitResponse(stream: id, replyHeaders, endStream: true)
        } else {
            self.status = status
            let text = body ?? Array(reasonBytes) + [0x0a]
            replyHeaders.append(":status", decimal: status)
            replyHeaders.append("content-type", "text/plain")
            replyHeaders.append("content-length", decimal: text.count)
            replyHeaders.append("server", "skiff")
            replyHeaders.append("x-skiff-reason", value: reasonBytes)
            if let location { location.withUnsafeBytes { replyHeaders.append("location", value: $0) } }
            countResponse(status)
            responseBodyBytes = text.count
            let empty = text.isEmpty
            d.session.submitResponse(stream: id, replyHeaders, endStream: empty)
            if !empty { text.withUnsafeBytes { d.session.sendData(stream: id, $0, endStream: true) } }
        }
        responseDone = true
        manager.stats.latency.record(ns: MonotonicClock.now() &- startNs)
        if sampling { endSample(status: self.status, flags: "", reason: reason) }
        // The rest of the request body, if any, is read and dropped (`requestData` gives its window back).
    }
}
