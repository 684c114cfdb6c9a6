import Glibc
import SkiffTelemetry

/// The host panel: states, load, totals, failures, drain progress, latency, the last checks.
extension DetailsPanel {
    /// How many checks the panel lists (newest first).
    static let checksShown = 20

    static func hostLines(cluster: String, address: String, _ snap: ConsoleSnapshot) -> [DetailLine] {
        guard let h = snap.latest?.host(cluster: cluster, address: address) else {
            return [DetailLine(text: "host \(cluster)/\(address) is not in the latest frame (removed by a reload?)", role: .warn)]
        }
        var out: [DetailLine] = []
        let now = snap.ts
        out.append(
            DetailLine(
                text: "admin \(h.admin)   health \(h.health)   weight \(Fmt.weight(h))   "
                    + (h.available ? "takes new requests" : "takes no new requests"),
                role: h.available ? .ok : .warn))
        if let metadata = h.metadata, !metadata.isEmpty {
            // Subset keys (`filter_metadata.mosn.lb.stage`) shown as `mosn.lb.stage`.
            let pairs = metadata.keys.sorted().map { key in
                let shown = key.hasPrefix("filter_metadata.") ? String(key.dropFirst("filter_metadata.".count)) : key
                return "\(shown)=\(metadata[key] ?? "")"
            }
            out.append(DetailLine(text: "metadata   " + pairs.joined(separator: "   ")))
        }
        if let until = h.ejectedUntilMs, until > now {
            out.append(DetailLine(text: "ejected by outlier detection for another \(Fmt.ms(until - now))", role: .bad))
        }
        out.append(
            DetailLine(
                text: "active requests \(h.rqActive)   active connections \(h.cxActive)   idle connections \(h.cxIdle)"))
        out.append(.blank)
        out.append(.heading("since start"))
        out.append(
            DetailLine(
                text: "requests \(h.rqTotal)   responses \(h.respSuccess)   5xx \(h.respFailed)   "
                    + "connections opened \(h.cxTotal)"))
        let failures: [(String, UInt64)] = [
            ("connect failures", h.cxConnectFail), ("connect timeouts", h.cxConnectTimeout),
            ("request timeouts", h.rqTimeout), ("resets by the host", h.rqRemoteReset),
            ("resets by skiff", h.rqLocalReset), ("retried elsewhere", h.rqRetry), ("ejections", h.ejections),
        ]
        let anyFailure = failures.contains { $0.1 > 0 } || h.respFailed > 0
        out.append(
            DetailLine(
                text: failures.prefix(4).map { "\($0.0) \($0.1)" }.joined(separator: "   "),
                role: failures.prefix(4).contains { $0.1 > 0 } ? .bad : .normal))
        out.append(
            DetailLine(
                text: failures.dropFirst(4).map { "\($0.0) \($0.1)" }.joined(separator: "   "),
                role: failures.dropFirst(4).contains { $0.1 > 0 } ? .warn : .normal))
        if !anyFailure { out.append(DetailLine(text: "no failures since start", role: .ok)) }
        out.append(.blank)
        out += drainLines(h)
        out += latencyLines(h, window: snap.windowLatency(cluster: cluster, host: address), windowMs: snap.windowMs)
        out.append(.blank)
        out += checkLines(h, now: now)
        return out
    }

    /// Drain progress while DRAIN or DRAINED.
    static func drainLines(_ h: TelemetryFrame.Host) -> [DetailLine] {
        guard h.drain != nil || h.admin == "DRAINED" else { return [] }
        var out: [DetailLine] = [.heading("drain")]
        out.append(DetailLine(text: Fmt.drain(h), role: h.isDrained ? .ok : .warn))
        if let d = h.drain {
            out.append(
                DetailLine(
                    text: "elapsed \(Fmt.one(Double(d.elapsedMs) / 1000)) s of \(Fmt.one(Double(d.timeoutMs) / 1000)) s"
                        + "   requests left \(d.activeRq)   busy connections \(d.activeCx)   idle connections \(d.idleCx)"))
        }
        if h.isDrained { out.append(DetailLine(text: "drained: safe to remove", role: .ok)) }
        out.append(.blank)
        return out
    }

    /// The latency quantiles as bars on a log scale (1 µs to the maximum): over the recent window (`window`, nil when
    /// it holds no samples) and since start.
    static func latencyLines(_ h: TelemetryFrame.Host, window: TelemetryFrame.Latency?, windowMs: UInt64) -> [DetailLine] {
        var out: [DetailLine] = []
        let span = Fmt.window(windowMs)
        if let w = window {
            out.append(.heading("latency, last \(span) (\(w.count) requests)"))
            out += quantileBars(w)
        } else {
            out.append(DetailLine(text: "latency, last \(span): no requests", role: .dim))
        }
        out.append(.heading("latency since start (\(h.latency.count) requests)"))
        out += quantileBars(h.latency)
        return out
    }

    static func quantileBars(_ l: TelemetryFrame.Latency) -> [DetailLine] {
        guard l.count > 0 else { return [DetailLine(text: "  no requests yet", role: .dim)] }
        let rows: [(String, UInt64)] = [
            ("p50", l.p50Us), ("p90", l.p90Us), ("p99", l.p99Us), ("p99.9", l.p999Us), ("max", l.maxUs),
        ]
        let top = log10(Double(max(l.maxUs, 2)))
        return rows.map { name, us in
            let len = us == 0 ? 0 : max(1, Int((log10(Double(max(us, 1))) / top * 30).rounded()))
            let label = name.padRight(6)
            let value = Fmt.us(us)
            let padded = String(repeating: " ", count: max(0, 8 - value.count)) + value
            return DetailLine(text: "  \(label)\(padded)  " + String(repeating: "█", count: len))
        }
    }

    /// The last checks, newest first, with result, reason and how long each took.
    static func checkLines(_ h: TelemetryFrame.Host, now: UInt64) -> [DetailLine] {
        guard let checks = h.checks, !checks.isEmpty else {
            return [.heading("checks"), DetailLine(text: "  not checked (no health check, or MAINT)", role: .dim)]
        }
        let shown = checks.suffix(checksShown).reversed()
        var out: [DetailLine] = [.heading("last \(shown.count) checks, newest first")]
        for c in shown {
            let age = now > c.at ? Fmt.ms(now - c.at) + " ago" : "now"
            let result = c.ok ? "ok    " : "failed"
            out.append(
                DetailLine(
                    text: "  \(Fmt.clock(c.at))  \(result)  \(c.reason.padRight(16)) "
                        + "took \(Fmt.us(c.latencyUs))   \(age)",
                    role: c.ok ? .normal : .bad))
        }
        return out
    }
}
