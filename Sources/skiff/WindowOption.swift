import ArgumentParser
import SkiffConfig
import SkiffTelemetry

/// `--window DURATION` (`skiff top`, `skiff demo`, `skiff start --tui`, `skiff ctl watch`): the recent span that
/// latency and write rates are shown over, in milliseconds; a bad value is refused with exit 1.
func parseWindow(_ text: String) throws -> UInt64 {
    let maxMs = FrameWindow.maxMs
    guard let d = DurationText.parse(text), d >= .seconds(1), d <= .milliseconds(Int64(maxMs)) else {
        printError("error: --window: expected a duration from 1s to 1h (e.g. 10s, 1m), got \"\(text)\"")
        throw ExitCode(1)
    }
    let c = d.components
    return UInt64(c.seconds) * 1000 + UInt64(c.attoseconds / 1_000_000_000_000_000)
}

/// `p50/10s 1.2ms p99/10s 4.5ms` over every cluster's requests in the window (the slowest cluster's figures);
/// `-` when the window holds no samples.
func windowLatencyText(_ frame: TelemetryFrame, _ window: FrameWindow) -> String {
    let span = window.windowMs % 1000 == 0 ? "\(window.windowMs / 1000)s" : "\(window.windowMs)ms"
    let figures = frame.clusters.compactMap { window.cluster($0.name) }.filter { $0.count > 0 }
    func text(_ v: UInt64?) -> String { v.map { Humanize.duration(ns: $0 &* 1000) } ?? "-" }
    return "p50/\(span) \(text(figures.map(\.p50Us).max()))  p99/\(span) \(text(figures.map(\.p99Us).max()))"
}
