import SkiffConfig
import SkiffXDSProto

/// A RouteMatch into a `RouteMatchConfig` with Envoy's semantics kept: Skiff's exact `path` match ignores ASCII case
/// (MOSN's rule) and its prefix match does not, so a case-sensitive path (Envoy's default) with letters becomes an
/// anchored regex of the escaped path, and a case-insensitive prefix becomes `(?i:prefix).*`. Header matchers become
/// exact values or anchored regexes. Regexes are checked to compile exactly as the JSON decoder checks them. Any
/// thread.
struct RouteMatchTranslation {
    typealias RouteMatch = Envoy_Config_Route_V3_RouteMatch
    typealias HeaderMatcher = Envoy_Config_Route_V3_HeaderMatcher

    /// The match, and why `prefix_rewrite` cannot apply to it (nil when it can: a prefix or path match).
    struct Translated {
        var config: RouteMatchConfig
        var rewriteBlocker: String?
    }

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    func match(_ m: RouteMatch, at path: String) throws(XDSRejection) -> Translated {
        try context.checkUnknown(m, at: path)
        var caseSensitive = true
        if m.hasCaseSensitive {
            try context.checkUnknown(m.caseSensitive, at: path.dot("case_sensitive"))
            caseSensitive = m.caseSensitive.value
        }
        try context.refuse(
            m.hasRuntimeFraction, path.dot("runtime_fraction"), "runtime fractions are not supported by skiff")
        try context.refuse(
            !m.queryParameters.isEmpty, path.dot("query_parameters"),
            "query parameter matching is not supported by skiff")
        var out = Translated(config: RouteMatchConfig(), rewriteBlocker: nil)
        switch m.pathSpecifier {
        case .prefix(let p)?:
            if caseSensitive || !Self.hasLetters(p) {
                out.config.prefix = p
            } else {
                out.config.regex = "(?i:\(Self.escaped(p))).*"
                out.rewriteBlocker = "prefix_rewrite with a case-insensitive prefix is not supported by skiff"
            }
        case .path(let p)?:
            if !caseSensitive || !Self.hasLetters(p) {
                out.config.path = p
            } else {
                out.config.regex = Self.escaped(p)
                out.rewriteBlocker =
                    "prefix_rewrite with a case-sensitive path match containing letters is not supported by skiff "
                    + "(its exact path match ignores case)"
            }
        case .safeRegex(let r)?:
            let pattern = try regex(r, at: path.dot("safe_regex"))
            out.config.regex = caseSensitive ? pattern : "(?i:\(pattern))"
            out.rewriteBlocker = "prefix_rewrite needs a prefix or path match (this route matches safe_regex)"
        case .pathSeparatedPrefix?:
            throw context.reject(path.dot("path_separated_prefix"), "not supported by skiff (use prefix)")
        case nil:
            throw context.reject(path, "needs prefix, path or safe_regex")
        }
        for (i, h) in m.headers.enumerated() {
            out.config.headers.append(try header(h, at: path.dot("headers").at(i)))
        }
        return out
    }

    /// A RegexMatcher's pattern, checked to compile (`path` is the matcher's; the pattern's is `path.regex`).
    func regex(_ r: Envoy_Type_Matcher_V3_RegexMatcher, at path: String) throws(XDSRejection) -> String {
        try context.checkUnknown(r, at: path)
        if case .googleRe2(let engine)? = r.engineType { try context.checkUnknown(engine, at: path.dot("google_re2")) }
        try checkRegex(r.regex, at: path.dot("regex"))
        return r.regex
    }

    /// Compiles with Swift's `Regex`, as ConfigDecoder+Routers.checkRegex does, so a pattern the router could not use
    /// is refused now with the same words.
    func checkRegex(_ pattern: String, at path: String) throws(XDSRejection) {
        do {
            _ = try Regex(pattern)
        } catch {
            throw context.reject(path, "bad regular expression \(quotedName(pattern)): \(error)")
        }
    }

    private func header(_ h: HeaderMatcher, at path: String) throws(XDSRejection) -> HeaderMatcherConfig {
        try context.checkUnknown(h, at: path)
        if h.name.isEmpty { throw context.reject(path.dot("name"), "required") }
        if h.name.hasPrefix(":") {
            throw context.reject(
                path.dot("name"), "pseudo-header \(quotedName(h.name)) matching is not supported by skiff")
        }
        try context.refuse(h.invertMatch, path.dot("invert_match"), "not supported by skiff")
        try context.refuse(
            h.treatMissingHeaderAsEmpty, path.dot("treat_missing_header_as_empty"), "not supported by skiff")
        func exact(_ v: String) -> HeaderMatcherConfig { HeaderMatcherConfig(name: h.name, value: v, regex: false) }
        func regex(_ v: String) -> HeaderMatcherConfig { HeaderMatcherConfig(name: h.name, value: v, regex: true) }
        switch h.headerMatchSpecifier {
        case nil:
            return regex(".*")  // Envoy: no specifier matches a header that is present
        case .exactMatch(let v)?:
            return exact(v)
        case .safeRegexMatch(let r)?:
            return regex(try self.regex(r, at: path.dot("safe_regex_match")))
        case .presentMatch(let present)?:
            if !present {
                throw context.reject(path.dot("present_match"), "false (header absent) is not supported by skiff")
            }
            return regex(".*")
        case .prefixMatch(let v)?:
            return regex(Self.escaped(v) + ".*")
        case .suffixMatch(let v)?:
            return regex(".*" + Self.escaped(v))
        case .containsMatch(let v)?:
            return regex(".*" + Self.escaped(v) + ".*")
        case .rangeMatch?:
            throw context.reject(path.dot("range_match"), "not supported by skiff")
        case .stringMatch(let s)?:
            let sp = path.dot("string_match")
            try context.checkUnknown(s, at: sp)
            let fold = s.ignoreCase ? "(?i)" : ""
            switch s.matchPattern {
            case .exact(let v)?: return s.ignoreCase ? regex(fold + Self.escaped(v)) : exact(v)
            case .prefix(let v)?: return regex(fold + Self.escaped(v) + ".*")
            case .suffix(let v)?: return regex(fold + ".*" + Self.escaped(v))
            case .contains(let v)?: return regex(fold + ".*" + Self.escaped(v) + ".*")
            case .safeRegex(let r)?:
                try context.refuse(s.ignoreCase, sp.dot("ignore_case"), "not supported with safe_regex by skiff")
                return regex(try self.regex(r, at: sp.dot("safe_regex")))
            case nil: throw context.reject(sp, "needs exact, prefix, suffix, contains or safe_regex")
            }
        }
    }

    /// ASCII letters: the only characters Skiff's exact path match folds.
    static func hasLetters(_ s: String) -> Bool {
        s.unicodeScalars.contains { $0.isASCII && $0.properties.isAlphabetic }
    }

    /// `s` as a regex that matches exactly `s`: the regex metacharacters escaped.
    static func escaped(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            if "\\^$.|?*+()[]{}".unicodeScalars.contains(c) { out += "\\" }
            out.unicodeScalars.append(c)
        }
        return out
    }
}
