import SkiffNet
import SkiffUpstream

/// What the exchange does when its upstream side fails before the response is complete — cut the client, retry
/// (on a host not tried yet when there is one), or answer — as `HTTPExchangeState.upstreamLost` decides, for HTTP/1
/// connections and HTTP/2 streams alike.
extension HTTPExchange {
    /// The upstream side failed before the response was complete: cut the client, retry, or answer. `staleReuse`:
    /// nothing was processed (a stale keep-alive connection, a refused stream), so one retry is free.
    func upstreamLoss(connectFailure: Bool, staleReuse: Bool) {
        switch state.upstreamLost(connectFailure: connectFailure, staleReuse: staleReuse) {
        case .cutClient:
            // Never fake a complete response: cut the client.
            manager.stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
            host?.stats.requestRemoteReset.wrappingAdd(1, ordering: .relaxed)
            cutClient(.upstreamConnectionTermination)
        case .retry(let counted):
            if connectFailure, let h = host { cluster?.outlier?.record(host: h, failure: true) }
            retry(counted: counted)
        case .reply(let status, let reason):
            if connectFailure, let h = host { cluster?.outlier?.record(host: h, failure: true) }
            if !connectFailure { host?.stats.requestRemoteReset.wrappingAdd(1, ordering: .relaxed) }
            logFlag(connectFailure ? .upstreamConnectionFailure : .upstreamRemoteReset)
            fail(status: status, reason: reason)
        }
    }

    /// Sends the kept request again, to a host not tried yet when there is one.
    func retry(counted: Bool = true) {
        detachUpstream(reusable: false)
        guard let c = cluster, let keep = replay else {
            return fail(status: 503, reason: "upstream retry impossible")
        }
        if counted {
            // `max_retries` bounds retries in flight: the slot is held until the exchange ends.
            if state.needsRetryAdmission {
                if let overflow = c.admitRetry() {
                    logFlag(.upstreamOverflow)
                    return fail(status: 503, reason: "upstream overflow", overflow: overflow.rawValue)
                }
                state.retryAdmitted()
            } else {
                c.stats.retryTotal.wrappingAdd(1, ordering: .relaxed)
            }
            manager.stats.retries.wrappingAdd(1, ordering: .relaxed)
        } else {
            // The free retry of a stale keep-alive connection: no breaker, but counted like any other.
            c.stats.retryTotal.wrappingAdd(1, ordering: .relaxed)
        }
        host?.stats.requestRetry.wrappingAdd(1, ordering: .relaxed)
        if triedHosts.count >= c.hosts.count { triedHosts.removeAll(keepingCapacity: true) }
        if viaHTTP2 { return sendHTTP2() }
        let copy = connection.bufferPool.acquire()
        copy.write(keep.readableView)
        send(head: copy)
    }
}
