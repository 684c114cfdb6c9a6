/// Which paths a route answers.
///
/// ```swift
/// "/api/v1/stats"                       // exact
/// "/api/v1/hosts/*/*/state"             // `*` matches one segment: /api/v1/hosts/c1/127.0.0.1%3A8080/state
/// .prefix("/api/v1/stats_glob/")        // anything below; the rest is the one path parameter
/// ```
public enum AdminPathPattern: Sendable, Equatable, ExpressibleByStringLiteral {
    /// The whole path, segment by segment; a segment that is exactly `*` matches any one non-empty segment.
    case exact(String)
    /// Any path that starts with this text.
    case prefix(String)

    public init(stringLiteral value: String) { self = .exact(value) }
}

/// Handles one request; called on the connection's thread, concurrently for different connections.
public typealias AdminHandler = @Sendable (AdminRequest) -> AdminResponse

/// The route table and its matching rules. Pure: no I/O.
struct AdminRouter: Sendable {
    struct Route: Sendable {
        var method: String
        var pattern: AdminPathPattern
        /// For `.exact`: the pattern's segments (nil for `*`).
        var segments: [String?]
        var handler: AdminHandler
    }

    enum Match {
        case found(AdminHandler, parameters: [String])
        /// The path is known, the method is not: the methods that are, for `Allow`.
        case methodNotAllowed(allow: [String])
        case notFound
        /// The path has a bad percent escape or is not UTF-8 once decoded.
        case badPath
    }

    private(set) var routes: [Route] = []

    mutating func add(_ method: String, _ pattern: AdminPathPattern, _ handler: @escaping AdminHandler) {
        if case .exact(let path) = pattern {
            precondition(path.hasPrefix("/"), "an admin route pattern starts with /: \(path)")
        }
        var segments: [String?] = []
        if case .exact(let path) = pattern {
            segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
                $0 == "*" ? nil : String($0)
            }
        }
        routes.append(Route(method: method.uppercased(), pattern: pattern, segments: segments, handler: handler))
    }

    /// The first route (in registration order) whose pattern and method match. `HEAD` matches `GET` routes.
    func match(method: String, path: String) -> Match {
        let raw = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var decoded: [String]? = nil
        var allow: [String] = []
        for route in routes {
            var parameters: [String] = []
            switch route.pattern {
            case .exact:
                guard raw.count == route.segments.count else { continue }
                if decoded == nil {
                    var all: [String] = []
                    for segment in raw {
                        guard let d = PercentDecoding.decode(segment) else { return .badPath }
                        all.append(d)
                    }
                    decoded = all
                }
                var matches = true
                for (want, have) in zip(route.segments, decoded!) {
                    if let want {
                        if want != have {
                            matches = false
                            break
                        }
                    } else {
                        if have.isEmpty {
                            matches = false
                            break
                        }
                        parameters.append(have)
                    }
                }
                guard matches else { continue }
            case .prefix(let prefix):
                guard path.hasPrefix(prefix) else { continue }
                guard let rest = PercentDecoding.decode(path.dropFirst(prefix.count)) else { return .badPath }
                parameters = [rest]
            }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route.handler, parameters: parameters)
            }
            if !allow.contains(route.method) { allow.append(route.method) }
            if route.method == "GET" && !allow.contains("HEAD") { allow.append("HEAD") }
        }
        return allow.isEmpty ? .notFound : .methodNotAllowed(allow: allow)
    }
}
