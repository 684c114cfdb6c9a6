/// Writes metrics in the Prometheus text exposition format, version 0.0.4.
///
/// Call it once per sample; samples of one metric family are grouped under a single `# HELP`/`# TYPE` pair, and
/// families come out in the order of their first call. Names come from code, so a bad metric or label name is a
/// precondition failure; label values come from config and peers, so they are escaped (`\`, `"`, newline).
///
/// ```swift
/// var w = PrometheusWriter()
/// w.counter(name: "upstream_request_total", help: "Requests sent upstream.",
///           labels: [("cluster", "c1"), ("host", "127.0.0.1:8080")], value: 42)
/// w.histogram(name: "upstream_request_duration_seconds", help: "Upstream request time.", labels: [("cluster", "c1")],
///             buckets: [(le: 0.005, cumulativeCount: 3), (le: 0.1, cumulativeCount: 9)], sum: 0.42, count: 10)
/// let body = w.bytes    // serve with PrometheusWriter.contentType
/// ```
/// A value type; build one per scrape on the scraping thread.
public struct PrometheusWriter {
    /// The `Content-Type` of this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public typealias Labels = [(name: String, value: String)]

    private enum Kind: String {
        case counter, gauge, histogram
    }

    private struct Family {
        var name: String
        var help: String
        var kind: Kind
        var samples: [UInt8] = []
    }

    private var families: [Family] = []
    private var familyIndex: [String: Int] = [:]

    public init() {}

    /// A monotonically increasing count.
    public mutating func counter(name: String, help: String, labels: Labels = [], value: UInt64) {
        sample(family: name, help: help, kind: .counter, series: name, labels: labels, value: String(value))
    }

    /// A count from an `Int` (so integer literals pick this overload).
    public mutating func counter(name: String, help: String, labels: Labels = [], value: Int) {
        precondition(value >= 0, "counter \(name) is negative: \(value)")
        sample(family: name, help: help, kind: .counter, series: name, labels: labels, value: String(value))
    }

    /// A counter measured as a fraction (seconds spent, bytes averaged, ...).
    public mutating func counter(name: String, help: String, labels: Labels = [], value: Double) {
        sample(family: name, help: help, kind: .counter, series: name, labels: labels, value: Self.format(value))
    }

    /// A value that goes up and down.
    public mutating func gauge(name: String, help: String, labels: Labels = [], value: Double) {
        sample(family: name, help: help, kind: .gauge, series: name, labels: labels, value: Self.format(value))
    }

    /// A gauge from an integer (active connections, queue depth).
    public mutating func gauge(name: String, help: String, labels: Labels = [], value: Int) {
        sample(family: name, help: help, kind: .gauge, series: name, labels: labels, value: String(value))
    }

    /// A gauge from an unsigned count (bytes buffered, sequence numbers).
    public mutating func gauge(name: String, help: String, labels: Labels = [], value: UInt64) {
        sample(family: name, help: help, kind: .gauge, series: name, labels: labels, value: String(value))
    }

    /// A histogram: `name_bucket{le=...}` per bucket (ascending `le`, cumulative counts), then `le="+Inf"` with
    /// `count` (unless the buckets already end with an infinite bound), `name_sum` and `name_count`.
    public mutating func histogram(
        name: String, help: String, labels: Labels = [], buckets: [(le: Double, cumulativeCount: UInt64)],
        sum: Double, count: UInt64
    ) {
        precondition(!labels.contains { $0.name == "le" }, "histogram \(name): the label \"le\" is reserved")
        var previous = -Double.infinity
        for bucket in buckets {
            precondition(bucket.le > previous, "histogram \(name): bucket bounds must ascend")
            previous = bucket.le
            sample(
                family: name, help: help, kind: .histogram, series: name + "_bucket",
                labels: labels + [("le", Self.format(bucket.le))], value: String(bucket.cumulativeCount))
        }
        if buckets.last?.le != .infinity {
            sample(
                family: name, help: help, kind: .histogram, series: name + "_bucket", labels: labels + [("le", "+Inf")],
                value: String(count))
        }
        sample(
            family: name, help: help, kind: .histogram, series: name + "_sum", labels: labels, value: Self.format(sum))
        sample(
            family: name, help: help, kind: .histogram, series: name + "_count", labels: labels, value: String(count))
    }

    /// The exposition text.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.reduce(0) { $0 + $1.samples.count + $1.help.utf8.count + 64 })
        for family in families {
            out.append(contentsOf: Array("# HELP \(family.name) ".utf8))
            Self.appendEscaped(family.help, escapeQuote: false, to: &out)
            out.append(contentsOf: Array("\n# TYPE \(family.name) \(family.kind.rawValue)\n".utf8))
            out.append(contentsOf: family.samples)
        }
        return out
    }

    // MARK: - Pieces

    private mutating func sample(
        family name: String, help: String, kind: Kind, series: String, labels: Labels, value: String
    ) {
        let index: Int
        if let existing = familyIndex[name] {
            precondition(
                families[existing].kind == kind,
                "metric \(name) written as \(kind.rawValue) after \(families[existing].kind.rawValue)")
            index = existing
        } else {
            precondition(Self.isValidMetricName(name), "invalid Prometheus metric name: \(name)")
            index = families.count
            familyIndex[name] = index
            families.append(Family(name: name, help: help, kind: kind))
        }
        var line: [UInt8] = Array(series.utf8)
        if !labels.isEmpty {
            line.append(UInt8(ascii: "{"))
            for (i, label) in labels.enumerated() {
                precondition(Self.isValidLabelName(label.name), "invalid Prometheus label name: \(label.name)")
                if i > 0 { line.append(UInt8(ascii: ",")) }
                line.append(contentsOf: Array(label.name.utf8))
                line.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
                Self.appendEscaped(label.value, escapeQuote: true, to: &line)
                line.append(UInt8(ascii: "\""))
            }
            line.append(UInt8(ascii: "}"))
        }
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: Array(value.utf8))
        line.append(0x0A)
        families[index].samples.append(contentsOf: line)
    }

    /// `\` and newline escaped (HELP text); `"` too for label values.
    private static func appendEscaped(_ s: String, escapeQuote: Bool, to out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where escapeQuote: out.append(contentsOf: [0x5C, 0x22])
            default: out.append(b)
            }
        }
    }

    /// Integers without a fraction (`3`, not `3.0`), `+Inf`, `-Inf`, `NaN`, otherwise the shortest round-trip text.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == .infinity { return "+Inf" }
        if v == -.infinity { return "-Inf" }
        if v == v.rounded(.towardZero) && abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":")
        else { return false }
        return name.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for Prometheus itself).
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_"), !name.hasPrefix("__") else {
            return false
        }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }
    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
