import SkiffJSON

/// The keys one section of the config accepts.
///
/// Every object the decoder reads is checked against one of these first, so a misspelt key is an error
/// ("unknown field") instead of being silently ignored the way Go's `encoding/json` ignores it for MOSN.
struct ObjectSchema {
    /// Keys Skiff reads, spelt as MOSN spells them (this spelling is used in error paths).
    var known: [String]
    /// Keys MOSN reads that Skiff does not implement: refused with "not supported by skiff".
    var unsupported: [String] = []
    /// Unsupported keys that are still accepted when their value is empty (`{}`, `[]`, `""`, `false`, `0`), because
    /// an empty value asks for nothing (MOSN's TCP sample writes `"tls_context": {}`).
    var emptyAllowed: Set<String> = []
    /// Why an unsupported key is refused, said after "not supported by skiff: " (default: nothing more).
    var reasons: [String: String] = [:]
    /// Other spellings (lower-cased) of a canonical key, e.g. MOSN v1's Go field name `SourceAddrs` for `source_addrs`.
    var aliases: [String: String] = [:]

    /// Canonical name for a key as written: Go matches keys case-insensitively, and so does Skiff.
    func canonical(_ key: String) -> String? {
        let lower = key.lowercased()
        if let name = known.first(where: { $0.lowercased() == lower }) { return name }
        if let name = unsupported.first(where: { $0.lowercased() == lower }) { return name }
        return aliases[lower]
    }
}

/// An object's members by canonical key, after its keys were checked against an `ObjectSchema`.
struct Fields {
    /// Path of the object itself.
    let path: String
    private(set) var values: [String: JSONValue] = [:]

    init(path: String) { self.path = path }

    subscript(_ name: String) -> JSONValue? { values[name] }
    func has(_ name: String) -> Bool { values[name] != nil }
    /// Path of one of the object's fields.
    func path(_ name: String) -> String { ConfigPath.field(path, name) }

    mutating func set(_ name: String, _ value: JSONValue) { values[name] = value }
}

extension ConfigDecoder {
    /// Checks `value` is an object whose keys the schema knows and returns its fields; reports every unknown,
    /// unsupported or duplicated key. Returns nil (after reporting) when `value` is not an object.
    mutating func fields(_ value: JSONValue, at path: String, _ schema: ObjectSchema) -> Fields? {
        guard case .object(let members) = value else {
            fail(path, "expected an object, got \(value.kindDescription)")
            return nil
        }
        var result = Fields(path: path)
        var spelling: [String: String] = [:]  // canonical -> key as first written
        for member in members {
            guard let name = schema.canonical(member.key) else {
                let hint = Suggestion.closest(to: member.key, among: schema.known).map {
                    " (did you mean \(quoted($0))?)"
                }
                fail(path, "unknown field \(quoted(member.key))\(hint ?? "")")
                continue
            }
            if let first = spelling[name] {
                let same = "\(quoted(first)) and \(quoted(member.key)) name the same field"
                let detail =
                    first == member.key
                    ? "duplicate field \(quoted(member.key))" : "duplicate field: \(same) (keys are case-insensitive)"
                fail(result.path(name), detail)
                continue
            }
            spelling[name] = member.key
            if schema.unsupported.contains(name) {
                if !(schema.emptyAllowed.contains(name) && member.value.isEmptyValue) {
                    let reason = schema.reasons[name].map { ": \($0)" } ?? ""
                    fail(result.path(name), "not supported by skiff\(reason)")
                }
                continue
            }
            result.set(name, member.value)
        }
        return result
    }
}

/// "Did you mean" for misspelt keys and names.
enum Suggestion {
    /// The candidate closest to `word` when it is close enough to be a likely typo (case and `_` ignored,
    /// then at most 1 edit for short words, 2 for longer ones; a swap of two letters counts as one edit).
    static func closest(to word: String, among candidates: [String]) -> String? {
        let w = normalize(word)
        guard !w.isEmpty else { return nil }
        var best: (String, Int)?
        for candidate in candidates {
            let c = normalize(candidate)
            let d = c == w ? 0 : distance(Array(w), Array(c))
            if best == nil || d < best!.1 { best = (candidate, d) }
        }
        guard let (name, d) = best else { return nil }
        let limit = w.count <= 4 ? 1 : 2
        return d <= limit ? name : nil
    }

    private static func normalize(_ s: String) -> String { s.lowercased().filter { $0 != "_" && $0 != "-" } }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    private static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
