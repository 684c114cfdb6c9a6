import SkiffJSON

/// Typed reads of single fields. Each reports a wrong type or value at the field's path and returns nil, so the
/// caller can fall back to a default and go on collecting errors.
extension ConfigDecoder {
    /// Largest value of MOSN's `uint32` fields.
    static let uint32Max = 4_294_967_295
    /// Upper bound for counts without a natural limit.
    static let int32Max = 2_147_483_647

    // MARK: - Strings

    mutating func string(_ f: Fields, _ name: String) -> String? {
        guard let v = f[name] else { return nil }
        return string(v, at: f.path(name))
    }

    mutating func string(_ v: JSONValue, at path: String) -> String? {
        guard case .string(let s) = v else {
            fail(path, "expected a string, got \(v.kindDescription)")
            return nil
        }
        return s
    }

    /// A string that must be present and non-empty.
    mutating func requiredString(_ f: Fields, _ name: String) -> String? {
        guard f.has(name) else {
            fail(f.path(name), "required")
            return nil
        }
        guard let s = string(f, name) else { return nil }
        if s.isEmpty {
            fail(f.path(name), "must not be empty")
            return nil
        }
        return s
    }

    // MARK: - Booleans and integers

    mutating func bool(_ f: Fields, _ name: String) -> Bool? {
        guard let v = f[name] else { return nil }
        guard case .bool(let b) = v else {
            fail(f.path(name), "expected true or false, got \(v.kindDescription)")
            return nil
        }
        return b
    }

    mutating func int(_ f: Fields, _ name: String, _ range: ClosedRange<Int>) -> Int? {
        guard let v = f[name] else { return nil }
        return int(v, at: f.path(name), range)
    }

    /// An integer written without fraction or exponent (`1.0` and `1e3` are refused, as Go refuses them for
    /// integer fields), inside `range`.
    mutating func int(_ v: JSONValue, at path: String, _ range: ClosedRange<Int>) -> Int? {
        guard case .number(let text) = v else {
            fail(path, "expected an integer, got \(v.kindDescription)")
            return nil
        }
        guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            fail(path, "expected an integer, got \(text)")
            return nil
        }
        guard let n = Int(text), range.contains(n) else {
            fail(path, "\(text) out of range (\(range.lowerBound)-\(range.upperBound))")
            return nil
        }
        return n
    }

    // MARK: - Durations

    /// A duration string (`"15s"`). `positive` refuses `"0s"`.
    mutating func duration(_ f: Fields, _ name: String, positive: Bool = false) -> Duration? {
        guard let v = f[name] else { return nil }
        return duration(v, at: f.path(name), positive: positive)
    }

    mutating func duration(_ v: JSONValue, at path: String, positive: Bool = false) -> Duration? {
        let example = "(expected e.g. \"15s\", \"250ms\", \"1m\")"
        switch v {
        case .string(let s):
            if s.hasPrefix("-"), DurationText.parse(String(s.dropFirst())) != nil {
                fail(path, "negative duration \(quoted(s))")
                return nil
            }
            guard let d = DurationText.parse(s) else {
                fail(path, "bad duration \(quoted(s)) \(example)")
                return nil
            }
            if positive && d == .zero {
                fail(path, "must be more than 0s")
                return nil
            }
            return d
        case .number(let text):
            fail(path, "bad duration \(text) \(example)")
        default:
            fail(path, "expected a duration string like \"15s\", got \(v.kindDescription)")
        }
        return nil
    }

    /// An optional timeout where `"0s"` means "none" (as in MOSN), so it maps to nil.
    mutating func optionalTimeout(_ f: Fields, _ name: String) -> Duration? {
        guard let d = duration(f, name) else { return nil }
        return d == .zero ? nil : d
    }

    // MARK: - Arrays

    /// The elements of an array field with their paths; nil (after reporting) when the field is not an array.
    mutating func array(_ f: Fields, _ name: String) -> [(value: JSONValue, path: String)]? {
        guard let v = f[name] else { return nil }
        return array(v, at: f.path(name))
    }

    mutating func array(_ v: JSONValue, at path: String) -> [(value: JSONValue, path: String)]? {
        guard case .array(let elements) = v else {
            fail(path, "expected an array, got \(v.kindDescription)")
            return nil
        }
        return elements.enumerated().map { (value: $0.element, path: ConfigPath.index(path, $0.offset)) }
    }

    /// An array of non-empty strings.
    mutating func strings(_ f: Fields, _ name: String) -> [String]? {
        guard let elements = array(f, name) else { return nil }
        var out: [String] = []
        for e in elements {
            guard let s = string(e.value, at: e.path) else { continue }
            if s.isEmpty { fail(e.path, "must not be empty") } else { out.append(s) }
        }
        return out
    }

    // MARK: - Named choices

    /// One of a fixed set of names, matched case-insensitively.
    /// - Parameters:
    ///   - what: noun for messages, e.g. "load balancer" -> `unknown load balancer "LB_FOO" (expected ...)`.
    ///   - options: accepted spellings (aliases included) and their values.
    ///   - listed: names shown after "expected" (default: all option names).
    ///   - unsupported: names MOSN knows but Skiff refuses.
    mutating func choice<T>(
        _ f: Fields, _ name: String, what: String, _ options: [(String, T)], listed: [String]? = nil,
        unsupported: [String] = []
    ) -> T? {
        guard let v = f[name] else { return nil }
        guard let s = string(v, at: f.path(name)) else { return nil }
        if let hit = options.first(where: { $0.0.lowercased() == s.lowercased() }) { return hit.1 }
        let expected = (listed ?? options.map(\.0)).joined(separator: ", ")
        if unsupported.contains(where: { $0.lowercased() == s.lowercased() }) {
            fail(f.path(name), "\(what) \(quoted(s)) not supported by skiff (expected \(expected))")
        } else {
            fail(f.path(name), "unknown \(what) \(quoted(s)) (expected \(expected))")
        }
        return nil
    }

    /// `no cluster named "x"`, with a suggestion when a defined name is close.
    func missingName(_ kind: String, _ name: String, among names: some Sequence<String>) -> String {
        let hint = Suggestion.closest(to: name, among: names.sorted()).map { " (did you mean \(quoted($0))?)" } ?? ""
        return "no \(kind) named \(quoted(name))\(hint)"
    }
}
