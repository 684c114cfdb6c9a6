/// One HTTP request as a route handler sees it.
public struct AdminRequest: Sendable {
    /// Upper-case as sent (`GET`, `POST`, ...). A `HEAD` request reaches the `GET` handler with method `HEAD`.
    public var method: String
    /// The request target as sent: `/api/v1/stats?type=upstream`.
    public var target: String
    /// The path part of `target`, still percent-encoded: `/api/v1/hosts/c1/127.0.0.1%3A8080/state`.
    public var path: String
    /// The query part of `target` without `?`, still encoded; empty when there is none.
    public var query: String
    /// Percent-decoded values of the pattern's `*` segments in order (`["c1", "127.0.0.1:8080"]`), or for a prefix
    /// route the one decoded remainder after the prefix.
    public var pathParameters: [String]
    /// Header fields in order, names as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// `127.0.0.1:53122`, for audit logs ("host drained by ...").
    public var remoteAddress: String
    /// The caller's uid when the access policy looked it up (a local mutation); nil otherwise.
    public var peerUID: UInt32? = nil

    public init(
        method: String, target: String, path: String, query: String = "", pathParameters: [String] = [],
        headers: [(name: String, value: String)] = [], body: [UInt8] = [], remoteAddress: String = ""
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.pathParameters = pathParameters
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first(where: { $0.name.lowercased() == wanted })?.value
    }

    /// The first query parameter with this name, decoded (`+` is a space), e.g. `type` in `?type=upstream`.
    public func queryParameter(_ name: String) -> String? {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = PercentDecoding.decode(parts[0], plusIsSpace: true)
            if key == name {
                return parts.count > 1 ? PercentDecoding.decode(parts[1], plusIsSpace: true) ?? "" : ""
            }
        }
        return nil
    }
}

/// What a route handler answers. `Content-Length` and `Connection` are the server's; other headers go in `headers`.
public struct AdminResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        status: Int = 200, contentType: String = "text/plain; charset=utf-8",
        headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// A plain-text response; a newline is added when `text` lacks one, so `curl` output ends cleanly.
    public static func text(_ text: String, status: Int = 200) -> AdminResponse {
        var body = Array(text.utf8)
        if body.last != 0x0A { body.append(0x0A) }
        return AdminResponse(status: status, body: body)
    }

    /// A JSON response from already-encoded bytes (see `JSONWriter`).
    public static func json(_ body: [UInt8], status: Int = 200) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: body)
    }

    /// The standard reason phrase of `status`.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}
