import SkiffConfig

/// One route of a virtual host: its path matcher, its header matchers, and the entry a match returns.
///
/// A class so the per-request loop over a virtual host's routes moves one reference per route, not a struct of
/// arrays. Immutable after the table is built; any thread may call `matches`.
final class CompiledRoute: Sendable {
    /// How the path must look. Matching follows MOSN's `pkg/router/http_rule.go`.
    enum PathMatch: Sendable {
        /// No path condition (header-only routes, as RPC routes are): matches any path, or none.
        case any
        /// Byte prefix, case-sensitive.
        case prefix([UInt8])
        /// Whole path, ASCII case-insensitive (MOSN compares with `strings.EqualFold`); stored lower-cased.
        case exact([UInt8])
        /// Whole path matches the expression.
        case regex(RouteRegex)
    }

    /// How a header's value must look; a missing header never matches (MOSN's header matcher).
    enum ValueMatch: Sendable {
        /// Byte-exact, case-sensitive value.
        case exact([UInt8])
        /// The regex `.*`: any value, including empty. No regex runs.
        case present
        /// MOSN's RPC "fast match" (`pkg/router/rpc_rule.go`): a route whose only matcher is `service` with value
        /// `.*` matches any non-empty service; a missing or empty `service` header does not match.
        case nonEmpty
        /// Whole value matches the expression.
        case regex(RouteRegex)
    }

    struct HeaderMatch: Sendable {
        /// Lower-cased name, as `RouteInput.header(_:)` takes it.
        let name: [UInt8]
        let value: ValueMatch
    }

    let path: PathMatch
    let headers: [HeaderMatch]
    let entry: RouteEntry

    init(path: PathMatch, headers: [HeaderMatch], entry: RouteEntry) {
        self.path = path
        self.headers = headers
        self.entry = entry
    }

    /// True when the request satisfies the path condition and every header condition.
    @inline(__always)
    func matches<I: RouteInput>(_ input: I) -> Bool {
        switch path {
        case .any:
            break
        case .prefix(let prefix):
            guard let p = input.path, RouterBytes.hasPrefix(p, prefix) else { return false }
        case .exact(let lowered):
            guard let p = input.path, RouterBytes.equalsFolded(p, 0..<p.count, lowered) else { return false }
        case .regex(let regex):
            guard let p = input.path, regex.wholeMatches(p) else { return false }
        }
        for h in headers {
            guard let value = h.name.withUnsafeBytes({ input.header($0) }) else { return false }
            switch h.value {
            case .exact(let expected):
                if !RouterBytes.equals(value, expected) { return false }
            case .present:
                break
            case .nonEmpty:
                if value.isEmpty { return false }
            case .regex(let regex):
                if !regex.wholeMatches(value) { return false }
            }
        }
        return true
    }
}

extension CompiledRoute {
    /// Builds the matchers of `config.match` and the entry of `config.action`.
    convenience init(
        _ config: RouteConfig, routerName: String, virtualHostName: String, virtualHostIndex: Int, routeIndex: Int
    ) throws(RouteTableError) {
        let location = "virtual_hosts[\(virtualHostIndex)].routers[\(routeIndex)]"
        func compile(_ pattern: String, at path: String) throws(RouteTableError) -> RouteRegex {
            switch RouteRegex.compile(pattern) {
            case .success(let regex): return regex
            case .failure(let error):
                throw RouteTableError(
                    kind: .badRegex, router: routerName, path: path,
                    message: "bad regular expression \"\(pattern)\": \(error.message)")
            }
        }
        let match = config.match
        var matchedPrefixLength = 0
        let path: PathMatch
        if let prefix = match.prefix {
            path = .prefix(Array(prefix.utf8))
            matchedPrefixLength = prefix.utf8.count
        } else if let exact = match.path {
            path = .exact(RouterBytes.lowercased(exact))
            matchedPrefixLength = exact.utf8.count
        } else if let regex = match.regex {
            path = .regex(try compile(regex, at: location + ".match.regex"))
        } else {
            path = .any
        }

        let fastMatch =
            match.headers.count == 1 && RouterBytes.lowercased(match.headers[0].name) == Array("service".utf8)
            && match.headers[0].value == ".*" && match.prefix == nil && match.path == nil && match.regex == nil
        var headers: [HeaderMatch] = []
        for (i, h) in match.headers.enumerated() {
            let value: ValueMatch
            if fastMatch {
                value = .nonEmpty
            } else if !h.regex {
                value = .exact(Array(h.value.utf8))
            } else if h.value == ".*" {
                value = .present
            } else {
                value = .regex(try compile(h.value, at: location + ".match.headers[\(i)].value"))
            }
            headers.append(HeaderMatch(name: RouterBytes.lowercased(h.name), value: value))
        }

        if case .route(let target) = config.action, target.prefixRewrite != nil {
            switch path {
            case .prefix, .exact: break
            case .regex, .any:
                throw RouteTableError(
                    kind: .unsupported, router: routerName, path: location + ".route.prefix_rewrite",
                    message: "prefix_rewrite needs a prefix or path match")
            }
        }
        let entry = RouteEntry(
            config.action, virtualHostName: virtualHostName, virtualHostIndex: virtualHostIndex,
            routeIndex: routeIndex, matchedPrefixLength: matchedPrefixLength)
        self.init(path: path, headers: headers, entry: entry)
    }
}
