import Glibc

/// `promtool check metrics` for tests: runs it on an exposition text and returns its findings, less the ones
/// `docs/metrics.md` lists as kept on purpose (MOSN's counter names without `_total`, section "Counters that keep
/// MOSN's name without `_total`"). `[]` means clean. Throws when promtool cannot be run. Any thread.
public enum PromtoolCheck {
    /// Counters whose `_total` finding is expected: the names `docs/metrics.md` lists in that section.
    public static func keptMOSNCounters() throws -> Set<String> {
        let doc = try MetricsDoc.text()
        let heading = "### Counters that keep MOSN's name without `_total`"
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0 == heading }) else {
            throw TestError("docs/metrics.md has no section \"\(heading)\"")
        }
        let body = lines[(start + 1)...].prefix { !$0.hasPrefix("#") }
        let section = body.joined(separator: "\n")
        var names: Set<String> = []
        for part in MetricsDoc.backticked(section) {
            if !part.isEmpty, part.allSatisfy({ $0 == "_" || ($0 >= "a" && $0 <= "z") }) { names.insert(part) }
        }
        return names
    }

    /// The findings of `promtool check metrics` on `text` that are not MOSN's kept names.
    public static func problems(_ text: String) throws -> [String] {
        let kept = try keptMOSNCounters()
        let file = try writeTempFile(text, suffix: ".prom")
        defer { unlink(file) }
        let run = try SkiffProcess.runCommand("sh", ["-c", "promtool check metrics < \(file)"])
        let lines = run.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let left = lines.filter { line in
            let suffix = " counter metrics should have \"_total\" suffix"
            guard line.hasSuffix(suffix) else { return true }
            return !kept.contains(String(line.dropLast(suffix.count)))
        }
        if run.status != 0 && lines.isEmpty { return ["promtool exited \(run.status) without a word"] }
        return left
    }
}
