/// What `docs/metrics.md` documents, for tests that hold code, configs and dashboards to it: every backticked
/// metric-like name, plus patterns (`downstream_request_<code>_total`, where `<code>` is any three-digit status, and
/// `skiff_tls_*`, any suffix). Reads the file on each call; any thread.
public enum MetricsDoc {
    public static func text() throws -> String {
        String(decoding: try readFile(SkiffProcess.packageRoot + "/docs/metrics.md"), as: UTF8.self)
    }

    /// Backticked tokens of `text` in order.
    static func backticked(_ text: some StringProtocol) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
    }

    /// Names and patterns documented.
    public static func documented() throws -> (names: Set<String>, patterns: [String]) {
        var names: Set<String> = []
        var patterns: [String] = []
        for token in backticked(try text()) {
            if token.hasSuffix("_*") || token.contains("<code>") {
                patterns.append(token)
            } else if !token.isEmpty, token.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }) {
                names.insert(token)
            }
        }
        return (names, patterns)
    }

    /// Whether `family` is documented, by name or pattern.
    public static func isDocumented(_ family: String, in doc: (names: Set<String>, patterns: [String])) -> Bool {
        doc.names.contains(family) || doc.patterns.contains { matches(family, $0) }
    }

    static func matches(_ name: String, _ pattern: String) -> Bool {
        if pattern.hasSuffix("*") { return name.hasPrefix(String(pattern.dropLast())) }
        let parts = pattern.split(separator: "<code>", omittingEmptySubsequences: false)
        guard parts.count == 2, name.hasPrefix(parts[0]), name.hasSuffix(parts[1]),
            name.count == parts[0].count + 3 + parts[1].count
        else { return false }
        return name.dropFirst(parts[0].count).prefix(3).allSatisfy(\.isNumber)
    }

    /// The metric families a PromQL expression reads: identifiers with a Skiff or standard prefix, a histogram's
    /// `_bucket`, `_sum` and `_count` series named by their family. `up` is Prometheus's own.
    public static func families(inPromQL expr: String) -> Set<String> {
        let prefixes = ["downstream_", "upstream_", "skiff_", "process_", "healthcheck_"]
        var out: Set<String> = []
        var token = ""
        func flush() {
            defer { token = "" }
            guard prefixes.contains(where: { token.hasPrefix($0) }) else { return }
            var name = token
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix("_seconds" + suffix) {
                name = String(name.dropLast(suffix.count))
            }
            out.insert(name)
        }
        for c in expr {
            if c == "_" || c.isLetter || c.isNumber { token.append(c) } else { flush() }
        }
        flush()
        return out
    }
}
