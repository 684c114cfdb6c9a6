import SkiffTelemetry

/// The listener and connection panels (their TLS sections are in ConsoleDetails+TLS.swift).
extension DetailsPanel {
    static func listenerLines(_ name: String, _ snap: ConsoleSnapshot) -> [DetailLine] {
        guard let f = snap.latest, let l = f.listeners.first(where: { $0.name == name }) else {
            return [DetailLine(text: "listener \(name) is not in the latest frame (removed by a reload?)", role: .warn)]
        }
        var out: [DetailLine] = []
        out.append(DetailLine(text: "address \(l.address)   protocol \(l.protocol)   thread model \(l.model)"))
        if l.model == "rwloop" {
            out.append(
                DetailLine(
                    text: "threads: one accept thread, a reader and a writer per connection "
                        + "(\(2 * l.cxActive) for \(l.cxActive) connections; all rwloop listeners: "
                        + "\(f.threads.rwloop.readers) readers, \(f.threads.rwloop.writers) writers)"))
        } else {
            let pollers = f.threads.pollers.filter { $0.group == l.name }
            let fds = pollers.reduce(0) { $0 + $1.fds }
            out.append(
                DetailLine(
                    text: "pollers \(pollers.count) (\(fds) descriptors)   workers \(l.workers)"
                        + (l.workers == 0 ? " (handlers run on the pollers)" : "")))
        }
        out.append(.blank)
        out.append(.heading("connections"))
        let accepted = acceptRate(l, snap)
        out.append(
            DetailLine(
                text: "active \(l.cxActive)   accepted since start \(l.cxTotal)   accept rate \(Fmt.rate(accepted))"))
        let refusals: [(String, UInt64)] = [
            ("refused over max_connections", l.cxRefused), ("accept errors", l.acceptErrors),
        ]
        out.append(
            DetailLine(
                text: refusals.map { "\($0.0) \($0.1)" }.joined(separator: "   "),
                role: refusals.contains { $0.1 > 0 } ? .bad : .normal))
        var closed: [(String, UInt64)] = []
        if let v = l.headerTimeouts { closed.append(("request-head timeouts", v)) }
        if let v = l.bodyTimeouts { closed.append(("request-body timeouts", v)) }
        if let v = l.idleTimeouts { closed.append(("idle timeouts", v)) }
        if let v = l.protocolErrors { closed.append(("protocol errors", v)) }
        if !closed.isEmpty {
            out.append(DetailLine(text: "closed by skiff: " + closed.map { "\($0.0) \($0.1)" }.joined(separator: "   ")))
        }
        if l.tls != nil {
            out.append(.blank)
            out += endpointTLSLines(l.tls, plaintextWord: "", nowMs: snap.ts)
        }
        out.append(.blank)
        out += requestLines(l)
        out.append(.blank)
        out += writevLines(l.writes)
        return out
    }

    /// Connections accepted per second between the last two frames.
    static func acceptRate(_ l: TelemetryFrame.Listener, _ snap: ConsoleSnapshot) -> Double? {
        guard let prev = snap.previous, let p = prev.listeners.first(where: { $0.name == l.name }),
            let now = snap.latest, now.ts > prev.ts, l.cxTotal >= p.cxTotal
        else { return nil }
        return Double(l.cxTotal - p.cxTotal) / (Double(now.ts - prev.ts) / 1000)
    }

    static func requestLines(_ l: TelemetryFrame.Listener) -> [DetailLine] {
        var out: [DetailLine] = [.heading("requests since start")]
        if let total = l.rqTotal {
            var parts = ["requests \(total)", "active \(l.rqActive ?? 0)"]
            for (k, v) in [("1xx", l.rq1xx), ("2xx", l.rq2xx), ("3xx", l.rq3xx), ("4xx", l.rq4xx), ("5xx", l.rq5xx)] {
                if let v { parts.append("\(k) \(v)") }
            }
            out.append(DetailLine(text: parts.joined(separator: "   "), role: (l.rq5xx ?? 0) > 0 ? .warn : .normal))
            var more: [String] = []
            if let v = l.localReplies { more.append("local replies \(v)") }
            if let v = l.routeTimeouts { more.append("route timeouts \(v)") }
            if let v = l.timeouts { more.append("timeouts \(v)") }
            if let v = l.upstreamResets { more.append("upstream resets \(v)") }
            if let v = l.retries { more.append("retries \(v)") }
            if !more.isEmpty { out.append(DetailLine(text: more.joined(separator: "   "))) }
        } else if let sessions = l.sessions {
            out.append(
                DetailLine(
                    text: "sessions \(sessions)   active \(l.sessionsActive ?? 0)   "
                        + "upstream connect failures \(l.upstreamConnectFailures ?? 0)",
                    role: (l.upstreamConnectFailures ?? 0) > 0 ? .bad : .normal))
        } else {
            out.append(DetailLine(text: "  (this listener counts no requests)", role: .dim))
        }
        return out
    }

    /// Write figures and the writev histogram (calls by buffers gathered).
    static func writevLines(_ w: TelemetryFrame.Writes) -> [DetailLine] {
        var out: [DetailLine] = [.heading("writes since start")]
        out.append(
            DetailLine(
                text: "bytes in \(Fmt.bytes(w.bytesIn))   bytes out \(Fmt.bytes(w.bytesOut))   buffers \(w.buffers)   "
                    + "writev calls \(w.writev)   buffers per writev \(Fmt.one(w.buffersPerWritev))"))
        out.append(
            DetailLine(
                text: "partial writes \(w.partial)   would block (EAGAIN) \(w.eagain)   peak queue \(w.peakQueue)   "
                    + "reads paused by back-pressure \(w.readPauses)"))
        out.append(DetailLine(text: "writev calls by buffers gathered:"))
        var hist = w.hist
        while hist.count < 5 { hist.append(0) }
        let top = max(1, hist.max() ?? 1)
        for (i, title) in ["1", "2-3", "4-7", "8-15", "16+"].enumerated() {
            let len = hist[i] == 0 ? 0 : max(1, Int((Double(hist[i]) / Double(top) * 30).rounded()))
            let label = title.padRight(5)
            let count = "\(hist[i])"
            out.append(
                DetailLine(
                    text: "  \(label) \(String(repeating: " ", count: max(0, 9 - count.count)))\(count)  "
                        + String(repeating: "█", count: len)))
        }
        return out
    }

    static func connectionLines(_ id: UInt64, _ snap: ConsoleSnapshot) -> [DetailLine] {
        guard let c = snap.connections[id] else {
            return [DetailLine(text: "connection \(id) has closed", role: .warn)]
        }
        let f = snap.latest
        let ownerHasTLS =
            c.dir == "outbound"
            ? f?.clusters.first { $0.name == c.owner }?.tls != nil
            : f?.listeners.first { $0.name == c.owner }?.tls != nil
        return [
            DetailLine(text: "\(c.dir) on \(c.owner)   peer \(c.peer)   thread model \(c.model)"),
            DetailLine(text: "age \(Fmt.ms(c.age(at: snap.ts)))   state \(c.state)", role: c.paused ? .warn : .normal),
            DetailLine(text: "I/O thread \(c.thread)   handler \(c.handler)"),
            .blank,
            .heading("since it opened"),
            DetailLine(text: "bytes in \(Fmt.bytes(c.bytesIn)) (\(c.bytesIn))   bytes out \(Fmt.bytes(c.bytesOut)) (\(c.bytesOut))"),
            DetailLine(
                text: "writev calls \(c.writev)   buffers written \(c.buffers)   buffers per writev \(Fmt.one(c.buffersPerWritev))"),
            c.paused
                ? DetailLine(text: "reading paused: the other side is not taking bytes as fast (back-pressure)", role: .warn)
                : DetailLine(text: "reading: not paused"),
        ] + connectionTLSLines(c, ownerHasTLS: ownerHasTLS)
    }
}
