/// How a certificate's expiry reads for people, for the console and `skiff ctl`: the UTC date, and how far away it
/// is from a given wall-clock time (a frame's `ts`, so a frozen or replayed frame says what it said then).
///
/// Pure functions, any thread.
///
/// ```swift
/// CertificateExpiry.date(2_111_905_866)                          // "2036-12-03 08:31 UTC"
/// CertificateExpiry.relative(2_111_905_866, nowMs: 1_796_545_866_000)   // "in 3650 days"
/// ```
public enum CertificateExpiry {
    /// Fewer days left than this is worth a warning colour.
    public static let warningDays = 30

    /// `YYYY-MM-DD HH:MM UTC` for seconds since the epoch.
    public static func date(_ epochSeconds: Int) -> String {
        let days = floorDiv(epochSeconds, 86_400)
        let inDay = epochSeconds - days * 86_400
        let (y, m, d) = civil(days)
        return "\(y)-\(two(m))-\(two(d)) \(two(inDay / 3600)):\(two(inDay / 60 % 60)) UTC"
    }

    /// Whole days from `nowMs` to the expiry, negative once it has passed (rounded down: 1.5 days left is 1).
    public static func daysLeft(_ epochSeconds: Int, nowMs: UInt64) -> Int {
        floorDiv(epochSeconds - Int(clamping: nowMs / 1000), 86_400)
    }

    /// `in 3650 days`, `in less than a day`, `expired 3 days ago`, `expired less than a day ago`.
    public static func relative(_ epochSeconds: Int, nowMs: UInt64) -> String {
        let left = epochSeconds - Int(clamping: nowMs / 1000)
        if left > 0 {
            let d = left / 86_400
            return d == 0 ? "in less than a day" : "in \(d) day\(d == 1 ? "" : "s")"
        }
        let d = -left / 86_400
        return d == 0 ? "expired less than a day ago" : "expired \(d) day\(d == 1 ? "" : "s") ago"
    }

    /// The date and the distance: `2036-12-03 08:51 UTC, in 3650 days`.
    public static func text(_ epochSeconds: Int, nowMs: UInt64) -> String {
        "\(date(epochSeconds)), \(relative(epochSeconds, nowMs: nowMs))"
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    private static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's algorithm).
    private static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d)
    }
}
