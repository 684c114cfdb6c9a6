/// A listener's answers by outcome, the same way for every protocol: HTTP by status class (Skiff's own replies
/// included, as the client saw them); Bolt and Dubbo as answers relayed (`2xx`) and error replies Skiff made itself
/// (`5xx`: timeout, no route, no healthy upstream, overflow, upstream lost). Nil for `tcp_proxy` listeners.
extension TelemetryFrame.Listener {
    public var answered2xx: UInt64? {
        if let ok = rq2xx { return ok }
        guard let responses else { return nil }
        let local = localReplies ?? 0
        return responses >= local ? responses - local : 0
    }

    public var answered4xx: UInt64? { rq4xx ?? (responses == nil ? nil : 0) }

    public var answered5xx: UInt64? { rq5xx ?? (responses == nil ? nil : localReplies ?? 0) }
}
