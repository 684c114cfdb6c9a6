import SkiffTelemetry

/// TERM=dumb or no tty: one line per frame, no cursor addressing.
public enum PlainText {
    /// `12:00:01 rps 1.2k/s cx 120 rq 4 5xx 0.0/s` for the model's latest frame.
    public static func watchLine(model: ConsoleModel) -> String {
        let snap = model.snapshot
        guard let f = snap.latest else { return "waiting for the first frame" }
        let cx = f.listeners.reduce(0) { $0 + $1.cxActive }
        let rq = f.listeners.reduce(0) { $0 + ($1.rqActive ?? 0) }
        var line = "\(Fmt.clock(f.ts, millis: false)) rps \(Fmt.rate(snap.totalRPS)) cx \(Fmt.count(cx)) rq \(Fmt.count(rq)) 5xx \(Fmt.rate(snap.total5xx))"
        line += " p99/\(Fmt.window(snap.windowMs)) \(snap.windowP99Us.map(Fmt.us) ?? "-")"
        if snap.missedFrames > 0 { line += " missed \(snap.missedFrames)" }
        return line
    }
}

/// Convenience wrapper so callers need not name the enum.
public func watchLine(model: ConsoleModel) -> String { PlainText.watchLine(model: model) }
