import SkiffConfig

/// What a matched route tells the proxy to do, with everything precomputed so the request path only reads fields.
///
/// Built once per route when the `RouteTable` is built; immutable, shared by every thread.
public final class RouteEntry: Sendable {
    /// `virtualHostName/routeIndex`, stable across reloads of the same config: a key for per-route stats.
    public let name: String
    /// The virtual host's `name`, or `vhost<i>` when the config left it empty.
    public let virtualHostName: String
    public let virtualHostIndex: Int
    /// Position in the virtual host's `routers`.
    public let routeIndex: Int

    public let action: RouteAction

    /// Whole-request timeout (`route.timeout`, default 60 s; also 60 s for redirects and direct responses).
    public let timeout: Duration
    /// `timeout` in nanoseconds, for monotonic-clock deadlines.
    public let timeoutNs: UInt64

    public let retryPolicy: RetryPolicyConfig?
    /// `retry_on` flags, from `retryPolicy`; all false without one.
    public let retryOnConnectFailure: Bool
    public let retryOnReset: Bool
    public let retryOn5xx: Bool
    /// `status_codes` when `retry_on` includes `retriable-status-codes`, else empty. A handful at most: a linear scan
    /// beats hashing.
    public let retriableStatusCodes: [Int]
    /// `num_retries` (0 without a policy).
    public let numRetries: Int
    /// `retry_timeout` (per try) in nanoseconds; nil when unset.
    public let retryTimeoutNs: UInt64?

    /// For RPC (Bolt, Dubbo): how many times a request lost unanswered is sent again. "Unanswered" is a request
    /// written to a connection that closed or reset before any byte of its response (`reset`), or one that never
    /// left because its connection failed (`connect-failure`). Without a `retry_policy`: once, for both. With one:
    /// `num_retries` for the conditions its `retry_on` names, none for the others (`num_retries: 0` disables).
    public let rpcRetry: RPCRetryBudget

    /// Replaces the first `matchedPrefixLength` bytes of the path before forwarding (`prefix_rewrite`).
    public let prefixRewrite: [UInt8]?
    /// Bytes of the path the route matched: the prefix's length for `prefix`, the path's for `path`, else 0.
    public let matchedPrefixLength: Int
    /// Replaces the Host header upstream (`host_rewrite`).
    public let hostRewrite: [UInt8]?
    /// Lower-cased header names whose values feed consistent hashing (`hash_policy[].header.key`), in order.
    public let hashPolicyHeaders: [[UInt8]]
    /// Each of `clusterNames`' `metadata_match` criteria (subset load balancing), in the same order; nil = all hosts.
    /// Resolved to a subset when the routes meet their clusters (`ResolvedRoute`), never per request.
    public let clusterCriteria: [[String: String]?]

    init(
        _ action: RouteActionConfig, virtualHostName: String, virtualHostIndex: Int, routeIndex: Int,
        matchedPrefixLength: Int
    ) {
        self.virtualHostName = virtualHostName
        self.virtualHostIndex = virtualHostIndex
        self.routeIndex = routeIndex
        self.name = "\(virtualHostName)/\(routeIndex)"
        self.matchedPrefixLength = matchedPrefixLength
        var target: RouteTargetConfig?
        switch action {
        case .route(let t):
            target = t
            if let name = t.clusterName {
                self.action = .cluster(name: name)
            } else {
                self.action = .weighted(WeightedClusters(t.weightedClusters))
            }
        case .redirect(let r):
            self.action = .redirect(RedirectAction(r))
        case .directResponse(let status, let body):
            self.action = .directResponse(status: status, body: Array((body ?? "").utf8))
        }
        let timeout = target?.timeout ?? .seconds(60)
        self.timeout = timeout
        self.timeoutNs = Self.nanoseconds(timeout)
        let policy = target?.retryPolicy
        self.retryPolicy = policy
        let on = policy?.retryOn ?? []
        retryOnConnectFailure = on.contains("connect-failure")
        retryOnReset = on.contains("reset")
        retryOn5xx = on.contains("5xx")
        retriableStatusCodes = on.contains("retriable-status-codes") ? policy?.statusCodes ?? [] : []
        numRetries = policy?.numRetries ?? 0
        retryTimeoutNs = policy?.retryTimeout.map(Self.nanoseconds)
        if let policy {
            rpcRetry = RPCRetryBudget(
                left: UInt8(clamping: policy.numRetries), onReset: retryOnReset, onConnectFailure: retryOnConnectFailure)
        } else {
            rpcRetry = .unanswered
        }
        prefixRewrite = target?.prefixRewrite.map { Array($0.utf8) }
        hostRewrite = target?.hostRewrite.map { Array($0.utf8) }
        hashPolicyHeaders = (target?.hashPolicyHeaders ?? []).map(RouterBytes.lowercased)
        if let t = target {
            clusterCriteria = t.clusterName != nil ? [t.metadataMatch] : t.weightedClusters.map(\.metadataMatch)
        } else {
            clusterCriteria = []
        }
    }

    private static func nanoseconds(_ d: Duration) -> UInt64 {
        let (seconds, attoseconds) = d.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (ns, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : ns &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// The upstream cluster for this request: the cluster, or a weighted pick with `random`; nil for redirects and
    /// direct responses.
    /// Every cluster this entry can send to, in order (one, or the weighted set); empty for local actions.
    public var clusterNames: [String] {
        switch action {
        case .cluster(let name): return [name]
        case .weighted(let w): return w.names
        case .redirect, .directResponse: return []
        }
    }

    /// For weighted routes, the index into `clusterNames` chosen by weight; 0 otherwise.
    @inline(__always)
    public func weightedIndex(random: UInt64) -> Int {
        if case .weighted(let w) = action { return w.pickIndex(random: random) }
        return 0
    }

    public func clusterName(random: UInt64) -> String? {
        switch action {
        case .cluster(let name): return name
        case .weighted(let w): return w.pickCluster(random: random)
        case .redirect, .directResponse: return nil
        }
    }

    /// Whether an upstream response with `status` should be retried (`5xx`, or a listed retriable status code).
    /// The caller still counts tries against `numRetries`.
    public func shouldRetry(status: Int) -> Bool {
        if retryOn5xx && status >= 500 && status <= 599 { return true }
        return retriableStatusCodes.contains(status)
    }

    /// The path to send upstream after `prefix_rewrite`, or nil when there is no rewrite or `path` does not start
    /// with the matched bytes. Allocates the new path.
    public func rewrittenPath(_ path: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let prefixRewrite, path.count >= matchedPrefixLength else { return nil }
        var out = prefixRewrite
        out.append(contentsOf: path[matchedPrefixLength...])
        return out
    }
}

/// What to do with a matched request.
public enum RouteAction: Sendable {
    /// Forward to one cluster.
    case cluster(name: String)
    /// Forward to one of several clusters, picked by weight per request.
    case weighted(WeightedClusters)
    /// Answer with this status and body; nothing goes upstream.
    case directResponse(status: Int, body: [UInt8])
    /// Answer with a redirect; see `RedirectAction.location(host:path:)`.
    case redirect(RedirectAction)
}

/// How many more times an RPC request may be sent if it is lost unanswered, and on which conditions (see
/// `RouteEntry.rpcRetry`). A value carried by each stream in flight: no allocation.
public struct RPCRetryBudget: Sendable, Equatable {
    /// Sends left after the first.
    public var left: UInt8
    /// The request was written to a connection that closed or reset before any byte of its response.
    public var onReset: Bool
    /// The request never left: its connection failed to open.
    public var onConnectFailure: Bool

    public init(left: UInt8, onReset: Bool, onConnectFailure: Bool) {
        self.left = left
        self.onReset = onReset
        self.onConnectFailure = onConnectFailure
    }

    /// The default without a `retry_policy`: one more try for a request lost unanswered.
    public static let unanswered = RPCRetryBudget(left: 1, onReset: true, onConnectFailure: true)
    public static let none = RPCRetryBudget(left: 0, onReset: false, onConnectFailure: false)

    /// Whether a request lost on a connection that had connected (else: that never connected) may go again.
    @inline(__always) public func allows(connected: Bool) -> Bool {
        left > 0 && (connected ? onReset : onConnectFailure)
    }
}
