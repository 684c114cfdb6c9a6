/// One thing wrong with a config, at an exact place.
///
/// `path` names the place the way MOSN spells the keys, with array indices in brackets:
/// `servers[0].listeners[1].address`, `cluster_manager.clusters[0].hosts[2].weight`. An error about the top-level
/// object itself has the empty path. File and JSON syntax errors carry the source as their path
/// (`config file "skiff.json"`), so every error prints as `path: message`.
public struct ConfigError: Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`, or just `message` for an error about the whole document.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Everything wrong with a config. The decoder collects all errors instead of stopping at the first, so one run
/// of `skiff validate` shows every mistake.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    /// One error per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Builds error paths. Kept in one place so every path has the same shape.
enum ConfigPath {
    /// `servers` + `listeners` -> `servers.listeners`; the root is the empty string.
    static func field(_ base: String, _ name: String) -> String { base.isEmpty ? name : "\(base).\(name)" }
    /// `servers` + 0 -> `servers[0]`.
    static func index(_ base: String, _ i: Int) -> String { "\(base)[\(i)]" }
}

/// A reason something was refused (an address, a file); a type of its own so it can travel in a `Result`.
struct Problem: Error, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    var message: String
    init(stringLiteral value: String) { message = value }
    init(stringInterpolation: DefaultStringInterpolation) { message = String(stringInterpolation: stringInterpolation) }
    init(message: String) { self.message = message }
}
