/// A regular expression compiled once at table build, matched against whole values.
///
/// Matching builds a `String` from the bytes: acceptable, as only regex routes pay it. Matching is by Unicode scalar
/// (closest to Go's `regexp`, which MOSN uses) and anchored at both ends (Envoy's semantics; MOSN's Go
/// `MatchString` finds a match anywhere, so write `.*x.*` for "contains x").
///
/// A class, not a struct: `Regex` is a resilient library type, and holding it inline would give every enum and struct
/// around it a layout known only at run time (copies through value witnesses on the hot path). A reference keeps
/// the matchers fixed-size.
///
/// `@unchecked Sendable`: the regex is immutable after init, and the program it lazily lowers (with an atomic
/// store) is built here, at init, by a warm-up match, so concurrent matches from several threads only read it.
final class RouteRegex: @unchecked Sendable {
    let pattern: String
    private let regex: Regex<AnyRegexOutput>

    /// Compiles `pattern`, or returns the compiler's message.
    static func compile(_ pattern: String) -> Result<RouteRegex, CompileError> {
        do {
            let regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
            _ = try? regex.wholeMatch(in: "")
            return .success(RouteRegex(pattern: pattern, regex: regex))
        } catch {
            return .failure(CompileError(message: "\(error)"))
        }
    }

    struct CompileError: Error {
        var message: String
    }

    private init(pattern: String, regex: Regex<AnyRegexOutput>) {
        self.pattern = pattern
        self.regex = regex
    }

    /// The whole of `bytes` (decoded as UTF-8, invalid sequences replaced) matches.
    func wholeMatches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        return (try? regex.wholeMatch(in: text)) != nil
    }
}
