#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import SkiffJSON

/// Reads MOSN's JSON config format (current and old forms) into a validated `SkiffConfiguration`.
///
/// The decoder never stops at the first problem: it collects every error with its exact path
/// (`servers[0].listeners[1].address: port 99999 out of range (0-65535)`) and throws them together as
/// `ConfigErrors`, so an operator fixes a config in one round. Nothing is silently ignored: unknown keys are errors,
/// MOSN features Skiff does not implement are refused as "not supported by skiff", and every cluster or router a
/// filter or route names must exist.
///
/// Compatibility with MOSN: keys match case-insensitively (Go's `encoding/json` does, and MOSN's TCP sample writes
/// `"Name"`); `SofaRpc` means `bolt`; old-form `connection_manager` filters become routers of their server;
/// `use_netpoll_mode` maps onto the thread model.
///
/// Skiff extensions (not in MOSN):
/// - server and listener `thread_model`: `"rwloop"` or `"netpoll"` (case-insensitive; a listener's overrides its
///   server's; default netpoll). MOSN's `use_netpoll_mode: true` means netpoll and an explicit `false` means rwloop
///   (MOSN's classic model); giving both in disagreement is an error.
/// - server and listener `pollers` (1...256, default one per core) and `workers` (0...1024, default 0 = inline).
/// - listener `max_connections` (>= 0; default 0 = unlimited for netpoll, 1024 for rwloop, where each connection
///   costs two threads), `max_coalesce` (1...1024, default 16: buffers gathered into one writev) and
///   `conn_buffer_limit_bytes` (4096...1 GiB, default 1 MiB: bound on a downstream connection's write queue).
public struct ConfigDecoder {
    /// Everything found wrong so far.
    var errors: [ConfigError] = []
    /// Fields accepted but not acted on as MOSN would (see `SkiffConfiguration.warnings`).
    var warnings: [ConfigError] = []
    /// Every `cluster_manager.clusters[].name`, read before anything that refers to clusters is decoded.
    var clusterNames: Set<String> = []
    /// Routes' `metadata_match` criteria and their clusters, checked once the clusters are decoded (routes come first).
    var subsetChecks: [(criteria: [String: String], cluster: String, path: String)] = []
    /// Listener name -> path, across all servers (names are unique in the whole config).
    var listenerNames: [String: String] = [:]
    /// Listener address -> listener name, for addresses with a fixed port.
    var listenerAddresses: [SocketAddressSpec: String] = [:]

    init() {}

    /// Largest config file read (a guard against pointing `-c` at the wrong file).
    public static let maxFileSize = 64 << 20

    /// Reads and decodes a config file. Errors: `config file "X": no such file`, `config file "X": permission denied`,
    /// `config file "X": line L, column C: <syntax problem>`, or the list of everything wrong with its content.
    public static func load(path: String) throws(ConfigErrors) -> SkiffConfiguration {
        try loadWithText(path: path).config
    }

    /// `load(path:)`, also returning the bytes it decoded (for `config.dump`: read once, so the text shown is the
    /// text that runs even if the file changes meanwhile).
    public static func loadWithText(path: String) throws(ConfigErrors) -> (config: SkiffConfiguration, text: [UInt8]) {
        let source = "config file \(quoted(path, limit: 200))"
        let bytes: [UInt8]
        switch readFile(path) {
        case .success(let b): bytes = b
        case .failure(let problem): throw ConfigErrors([ConfigError(path: source, message: problem.message)])
        }
        return (try decode(bytes, source: source), bytes)
    }

    /// A whole file's bytes (up to the config size limit), or nil when it cannot be read.
    public static func fileBytes(_ path: String) -> [UInt8]? {
        if case .success(let b) = readFile(path) { return b }
        return nil
    }

    /// Decodes a config from JSON bytes. `source` labels syntax errors (`<source>: line L, column C: ...`).
    public static func decode(_ bytes: [UInt8], source: String = "<config>") throws(ConfigErrors) -> SkiffConfiguration
    {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw ConfigErrors([ConfigError(path: source, message: error.description)])
        }
        var decoder = ConfigDecoder()
        let config = decoder.decodeRoot(root)
        guard decoder.errors.isEmpty, var config else { throw ConfigErrors(decoder.errors) }
        config.warnings = decoder.warnings
        return config
    }

    /// Decodes a config from JSON text.
    public static func decode(_ text: String, source: String = "<config>") throws(ConfigErrors) -> SkiffConfiguration {
        try decode(Array(text.utf8), source: source)
    }

    mutating func fail(_ path: String, _ message: String) {
        errors.append(ConfigError(path: path, message: message))
    }

    /// A field accepted (MOSN's own configs carry it) whose effect differs from MOSN's: said once, with its path.
    mutating func warn(_ path: String, _ message: String) {
        warnings.append(ConfigError(path: path, message: message))
    }

    // MARK: - Top level

    static let rootSchema = ObjectSchema(
        known: [
            "servers", "cluster_manager", "admin", "disable_upgrade", "node", "dynamic_resources", "static_resources",
            "metrics", "tracing",
        ],
        unsupported: [
            "pprof", "close_graceful",
            "inherit_old_mosnconfig", "pid", "uds_dir", "plugin", "third_part_codec", "extends", "wasm_global_plugins",
        ],
        emptyAllowed: ["close_graceful", "inherit_old_mosnconfig"])

    mutating func decodeRoot(_ root: JSONValue) -> SkiffConfiguration? {
        guard case .object = root else {
            fail("", "expected an object at the top level, got \(root.kindDescription)")
            return nil
        }
        clusterNames = Self.declaredClusterNames(root)
        guard let f = fields(root, at: "", Self.rootSchema) else { return nil }

        var servers: [ServerConfig] = []
        var listenerCount = 0
        let serverList = array(f, "servers")
        if let serverList {
            for item in serverList {
                if case .object(let members) = item.value,
                    let listeners = members.first(where: { $0.key.lowercased() == "listeners" }),
                    case .array(let l) = listeners.value
                {
                    listenerCount += l.count
                }
                if let server = decodeServer(item.value, at: item.path) { servers.append(server) }
            }
        }
        let bootstrap = decodeBootstrap(f)
        // xDS mode: with listeners from the control plane, a config may have no servers of its own.
        let listenersFromADS = bootstrap.xds?.listenersFromADS ?? false
        if listenerCount == 0 && !listenersFromADS && (serverList != nil || !f.has("servers")) {
            fail("servers", "no listeners")
        }
        var clusters = f["cluster_manager"].map { decodeClusterManager($0, at: f.path("cluster_manager")) } ?? []
        clusters += bootstrap.staticClusters
        let clustersByName = Dictionary(clusters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for check in subsetChecks {
            checkMetadataMatch(check.criteria, cluster: clustersByName[check.cluster], named: check.cluster, at: check.path)
        }
        let admin = f["admin"].flatMap { decodeAdmin($0, at: f.path("admin")) }
        let disableUpgrade = bool(f, "disable_upgrade") ?? false
        var config = SkiffConfiguration(servers: servers, clusters: clusters, admin: admin, disableUpgrade: disableUpgrade)
        config.tracing = f["tracing"].flatMap { decodeTracing($0, at: f.path("tracing")) }
        config.stampTracing()
        config.xds = bootstrap.xds
        config.metrics = f["metrics"].flatMap { decodeMetrics($0, at: f.path("metrics"), admin: admin) }
        return config
    }

    /// Cluster names as written, read ahead so routes and filters can be checked against them in document order
    /// (servers come before `cluster_manager` in MOSN's files).
    static func declaredClusterNames(_ root: JSONValue) -> Set<String> {
        func member(_ v: JSONValue, _ key: String) -> JSONValue? {
            guard case .object(let members) = v else { return nil }
            return members.first(where: { $0.key.lowercased() == key })?.value
        }
        guard let cm = member(root, "cluster_manager"), case .array(let clusters)? = member(cm, "clusters") else {
            return []
        }
        var names: Set<String> = []
        for c in clusters {
            if case .string(let name)? = member(c, "name") { names.insert(name) }
        }
        return names
    }

    // MARK: - Admin

    mutating func decodeAdmin(_ v: JSONValue, at path: String) -> AdminConfig? {
        guard let f = fields(v, at: path, ObjectSchema(known: ["address", "token"])) else { return nil }
        let token = adminToken(f)
        guard let addressValue = f["address"] else {
            fail(f.path("address"), "required")
            return nil
        }
        let addressSchema = ObjectSchema(known: ["socket_address"], unsupported: ["pipe"])
        guard let a = fields(addressValue, at: f.path("address"), addressSchema) else { return nil }
        guard let socketValue = a["socket_address"] else {
            fail(a.path("socket_address"), "required")
            return nil
        }
        let socketSchema = ObjectSchema(
            known: ["address", "port_value"], unsupported: ["protocol", "ipv4_compat", "named_port", "resolver_name"],
            emptyAllowed: ["ipv4_compat"])
        guard let s = fields(socketValue, at: a.path("socket_address"), socketSchema) else { return nil }
        let host = requiredString(s, "address")
        if let host, let problem = AddressText.hostProblem(host) { fail(s.path("address"), problem) }
        if !s.has("port_value") { fail(s.path("port_value"), "required") }
        let port = int(s, "port_value", 0...65535)
        guard let host, let port else { return nil }
        return AdminConfig(address: SocketAddressSpec(host: host, port: port), token: token)
    }

    /// Length bounds of `admin.token`.
    static let adminTokenLength = 16...4096

    /// `admin.token` (a Skiff extension): what `Authorization: Bearer` must carry for the admin API to change
    /// state. Printable ASCII without spaces, so it travels in a header as written.
    mutating func adminToken(_ f: Fields) -> String? {
        guard let token = string(f, "token") else { return nil }
        let range = Self.adminTokenLength
        guard range.contains(token.utf8.count) else {
            fail(
                f.path("token"),
                "\(token.utf8.count) characters; a token needs \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            fail(f.path("token"), "only printable ASCII without spaces (it is sent as Authorization: Bearer <token>)")
            return nil
        }
        return token
    }

    // MARK: - Files

    /// Reads a whole file with `open`/`read` (no Foundation). ENOENT reads as "no such file"; other failures give
    /// the errno text. Only a regular file is read: a FIFO would block `validate`, `start` or a reload until some
    /// writer came, and a device would never end; they are refused at once ("not a regular file (a FIFO)").
    static func readFile(_ path: String) -> Result<[UInt8], Problem> {
        // O_NONBLOCK: opening a FIFO must not wait for a writer before we can tell what it is.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let code = errno
            return .failure(Problem(message: code == ENOENT ? "no such file" : errnoText(code)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(Problem(message: errnoText(errno))) }
        if let kind = nonRegularKind(st.st_mode) {
            return .failure(Problem(message: "not a regular file (\(kind)); give the path of a config file"))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                return .failure(Problem(message: errnoText(code)))
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > maxFileSize {
                return .failure(Problem(message: "larger than \(maxFileSize >> 20) MiB, not a config file"))
            }
        }
        return .success(out)
    }

    /// What a file of this mode is when it is not a regular file ("a FIFO", "a directory"); nil for a regular one.
    static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }

    /// `strerror` text with a lower-case first letter: "permission denied", "is a directory".
    static func errnoText(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        guard let first = text.first else { return "error \(code)" }
        return first.lowercased() + text.dropFirst()
    }
}
