/// Durations written the way MOSN (Go's `time.ParseDuration`) writes them: `"15s"`, `"250ms"`, `"1m30s"`, `"1.5h"`,
/// `"100us"` / `"100µs"`, `"0s"`.
///
/// Stricter than Go on purpose: a bare number (`"15"`, even `"0"`) is refused because people mean different units by
/// it, and a sign is refused because no config duration can be negative. `format` prints Go's `Duration.String()`,
/// so a value read from a MOSN config prints back the way MOSN would print it, and `parse(format(d)) == d`.
public enum DurationText {
    private static let units: [(String, Int64)] = [
        ("ns", 1), ("us", 1_000), ("\u{00B5}s", 1_000), ("\u{03BC}s", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// The duration, or nil when `s` is not a non-negative Go-style duration with a unit on every number.
    public static func parse(_ s: String) -> Duration? {
        guard let ns = nanoseconds(s) else { return nil }
        return .nanoseconds(ns)
    }

    /// Nanoseconds in `s`, or nil (see `parse`).
    static func nanoseconds(_ s: String) -> Int64? {
        let scalars = Array(s.unicodeScalars)
        guard !scalars.isEmpty else { return nil }
        var i = 0
        var total: Int64 = 0
        func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
        while i < scalars.count {
            // Whole part.
            var whole: Int64 = 0
            var digits = 0
            while i < scalars.count, isDigit(scalars[i]) {
                let d = Int64(scalars[i].value - 48)
                let (m, o1) = whole.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { return nil }
                whole = a
                digits += 1
                i += 1
            }
            // Fraction.
            var fraction: Int64 = 0
            var scale: Double = 1
            if i < scalars.count, scalars[i] == "." {
                i += 1
                while i < scalars.count, isDigit(scalars[i]) {
                    if scale < 1e18 {  // further digits cannot change the nanoseconds
                        fraction = fraction * 10 + Int64(scalars[i].value - 48)
                        scale *= 10
                    }
                    digits += 1
                    i += 1
                }
            }
            guard digits > 0 else { return nil }
            // Unit: everything up to the next digit or '.'.
            var unit = ""
            while i < scalars.count, !isDigit(scalars[i]), scalars[i] != "." {
                unit.unicodeScalars.append(scalars[i])
                i += 1
            }
            guard let factor = units.first(where: { $0.0 == unit })?.1 else { return nil }
            let (wholeNs, o1) = whole.multipliedReportingOverflow(by: factor)
            if o1 { return nil }
            var value = wholeNs
            if fraction > 0 {
                let extra = Double(fraction) * (Double(factor) / scale)
                guard extra < 9.2e18 else { return nil }
                let (v, o) = value.addingReportingOverflow(Int64(extra))
                if o { return nil }
                value = v
            }
            let (t, o2) = total.addingReportingOverflow(value)
            if o2 { return nil }
            total = t
        }
        return total
    }

    /// Go's `Duration.String()`: `"0s"`, `"250ms"`, `"1.5s"`, `"1m30s"`, `"1h0m0s"`, `"100µs"`.
    public static func format(_ d: Duration) -> String {
        let c = d.components
        // Whole nanoseconds; sub-nanosecond parts are dropped.
        let ns = c.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        var total: Int64 = ns.overflow ? (c.seconds < 0 ? .min : .max) : ns.partialValue
        total = total.addingReportingOverflow(c.attoseconds / 1_000_000_000).partialValue
        let negative = total < 0
        var u = total.magnitude
        var out: String
        if u < 1_000_000_000 {
            let unit: String
            let precision: Int
            switch u {
            case 0: return "0s"
            case ..<1_000:
                unit = "ns"
                precision = 0
            case ..<1_000_000:
                unit = "\u{00B5}s"
                precision = 3
            default:
                unit = "ms"
                precision = 6
            }
            let (frac, rest) = fraction(u, precision)
            out = String(rest) + frac + unit
        } else {
            let (frac, seconds) = fraction(u, 9)
            u = seconds
            out = String(u % 60) + frac + "s"
            u /= 60
            if u > 0 {
                out = String(u % 60) + "m" + out
                u /= 60
                if u > 0 { out = String(u) + "h" + out }
            }
        }
        return negative ? "-" + out : out
    }

    /// `v / 10^precision` and the fraction as ".123" without trailing zeros ("" when zero).
    private static func fraction(_ v: UInt64, _ precision: Int) -> (String, UInt64) {
        var divisor: UInt64 = 1
        for _ in 0..<precision { divisor *= 10 }
        guard precision > 0 else { return ("", v) }
        var rest = v % divisor
        var digits = Array(repeating: Character("0"), count: precision)
        for k in stride(from: precision - 1, through: 0, by: -1) {
            digits[k] = Character(String(rest % 10))
            rest /= 10
        }
        while let last = digits.last, last == "0" { digits.removeLast() }
        return (digits.isEmpty ? "" : "." + String(digits), v / divisor)
    }
}
