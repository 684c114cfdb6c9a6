/// Short human-readable renderings of counts, sizes, durations and rates for the console and the CLI.
///
/// Pure functions, any thread. Each result fits a narrow column: at most three significant digits plus a unit, one
/// decimal while the leading part is below 100 (below 10 for durations and rates), and a value that would round up
/// to the next unit's threshold moves to that unit ("1.0M", never "1000k").
///
/// ```swift
/// Humanize.count(1234)                // "1.2k"
/// Humanize.bytes(1536)                // "1.5KiB"
/// Humanize.duration(ns: 3_400_000)    // "3.4ms"
/// Humanize.rate(1234.5)               // "1.2k/s"
/// ```
public enum Humanize {
    /// "987", "1.2k", "34.5k", "678k", "3.4M", "5.6G", ... (powers of 1000, up to "E").
    public static func count(_ value: UInt64) -> String {
        compact(Double(value), base: 1000, units: ["", "k", "M", "G", "T", "P", "E"])
    }

    /// "512B", "1.5KiB", "2.0MiB", ... (powers of 1024, up to "EiB").
    public static func bytes(_ value: UInt64) -> String {
        compact(Double(value), base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"])
    }

    /// "850ns", "1.5µs", "12µs", "3.4ms", "250ms", "1.20s", "12.3s", "2m05s", "3h07m", "2d04h".
    public static func duration(ns: UInt64) -> String {
        if ns < 1000 { return "\(ns)ns" }
        let tenthsOfMicros = rounded(ns, 100)
        if tenthsOfMicros < 100 { return tenths(tenthsOfMicros) + "µs" }
        let micros = rounded(ns, 1000)
        if micros < 1000 { return "\(micros)µs" }
        let tenthsOfMillis = rounded(ns, 100_000)
        if tenthsOfMillis < 100 { return tenths(tenthsOfMillis) + "ms" }
        let millis = rounded(ns, 1_000_000)
        if millis < 1000 { return "\(millis)ms" }
        let hundredthsOfSeconds = rounded(ns, 10_000_000)
        if hundredthsOfSeconds < 1000 {
            return "\(hundredthsOfSeconds / 100)." + twoDigits(hundredthsOfSeconds % 100) + "s"
        }
        let tenthsOfSeconds = rounded(ns, 100_000_000)
        if tenthsOfSeconds < 600 { return tenths(tenthsOfSeconds) + "s" }
        let seconds = rounded(ns, 1_000_000_000)
        if seconds < 3600 { return "\(seconds / 60)m" + twoDigits(seconds % 60) + "s" }
        let minutes = rounded(ns, 60_000_000_000)
        if minutes < 1440 { return "\(minutes / 60)h" + twoDigits(minutes % 60) + "m" }
        let hours = rounded(ns, 3_600_000_000_000)
        return "\(hours / 24)d" + twoDigits(hours % 24) + "h"
    }

    /// "0.5/s", "12/s", "987/s", "1.2k/s", "3.4M/s"; "-" for NaN or infinity.
    public static func rate(_ perSecond: Double) -> String {
        guard perSecond.isFinite else { return "-" }
        if perSecond < 0 { return "-" + rate(-perSecond) }
        let tenthsValue = (perSecond * 10).rounded()
        if tenthsValue < 100 { return tenths(UInt64(tenthsValue)) + "/s" }
        return compact(perSecond, base: 1000, units: ["/s", "k/s", "M/s", "G/s", "T/s", "P/s", "E/s"])
    }

    /// `value` in the largest unit that keeps it below `base` once rounded; integers in `units[0]`.
    private static func compact(_ value: Double, base: Double, units: [String]) -> String {
        var scaled = value
        var unit = 0
        while true {
            if unit > 0 {
                let tenthsValue = (scaled * 10).rounded()
                if tenthsValue < 1000 { return tenths(UInt64(tenthsValue)) + units[unit] }
            }
            let whole = scaled.rounded()
            if whole < base || unit == units.count - 1 {
                // Beyond UInt64 (a nonsensical rate), fall back to the Double's own rendering rather than trap.
                return (whole < 0x1p64 ? "\(UInt64(whole))" : "\(whole)") + units[unit]
            }
            scaled /= base
            unit += 1
        }
    }

    /// `value / divisor` rounded half up, without overflowing near `UInt64.max`.
    private static func rounded(_ value: UInt64, _ divisor: UInt64) -> UInt64 {
        value / divisor + (value % divisor >= (divisor + 1) / 2 ? 1 : 0)
    }

    /// "12.3" from 123.
    private static func tenths(_ value: UInt64) -> String {
        "\(value / 10).\(value % 10)"
    }

    private static func twoDigits(_ value: UInt64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
