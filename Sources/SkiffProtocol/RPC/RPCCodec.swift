/// What a multiplexed RPC protocol (Bolt v1/v2, Dubbo 2) must provide for the proxy to route and multiplex it
/// without deserialising payloads: frame boundaries, the request id (read and rewritten in place), routing headers,
/// and the few frames the proxy writes itself (heartbeat answers, error responses, heartbeats upstream).
///
/// Implementations are stateless enums; everything works on raw bytes in place, with no allocation.
public protocol RPCCodec {
    /// Protocol name for logs and stats ("bolt", "boltv2", "dubbo").
    static var name: StaticString { get }

    /// How long the frame at the start of `bytes` is: `.incomplete(needed:)` (at least that many bytes in total are
    /// needed to know more), `.complete(length:)`, or `.invalid(_)` (bad magic/version, length over the limit).
    static func frameLength(_ bytes: UnsafeRawBufferPointer, limits: RPCLimits) -> RPCFrameLength

    /// Parses the header of a complete frame (exactly `frameLength` bytes) into `info`.
    /// Errors: truncated header maps, lengths that do not add up, hessian that is not a string where needed.
    static func parse(_ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo) -> RPCError?

    /// The same, keeping at most `limits.maxHeaders` header entries.
    static func parse(_ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo, limits: RPCLimits) -> RPCError?

    /// The request id of the frame starting at `bytes`, read from as much of its header as has arrived; nil while
    /// too little has (a response cut short: which request it was answering).
    static func requestID(ofPartial bytes: UnsafeRawBufferPointer) -> UInt64?

    /// Overwrites the request id of a complete frame in place (upstream ids are the proxy's own).
    static func setRequestID(_ id: UInt64, in frame: UnsafeMutableRawBufferPointer)

    /// Writes the answer to a heartbeat request; returns bytes written (nil if `capacity` is too small).
    static func encodeHeartbeatResponse(to request: RPCFrameInfo, into out: UnsafeMutableRawPointer, capacity: Int) -> Int?

    /// Writes a heartbeat request with `id` (for upstream keepalive).
    static func encodeHeartbeatRequest(id: UInt64, into out: UnsafeMutableRawPointer, capacity: Int) -> Int?

    /// Writes an error response to `request` with the protocol's nearest status for `error`, and `message` where
    /// the protocol carries one (Dubbo's error string; Bolt has only the status).
    static func encodeErrorResponse(
        to request: RPCFrameInfo, error: RPCErrorKind, message: StaticString, into out: UnsafeMutableRawPointer,
        capacity: Int
    ) -> Int?

    /// The status `encodeErrorResponse` writes for `error` (for access logs' `rpc_status`).
    static func errorStatus(for error: RPCErrorKind) -> Int

    /// The HTTP status a response `status` stands for in access logs' `response_code` (success is 200).
    static func httpStatus(forStatus status: Int) -> Int

    /// Writes `frame` (a complete request) into `out` with `edits` set in its header map, replacing entries of the
    /// same names; returns the length, or nil when the protocol has no such map or it does not fit.
    static func writeWithHeaders(
        _ frame: UnsafeRawBufferPointer, _ edits: RPCHeaderEdits, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int?
}

/// Limits on what a peer may send.
public struct RPCLimits: Sendable, Equatable {
    /// A frame longer than this is refused (`max_frame_bytes`), default 16 MiB.
    public var maxFrameBytes: Int
    /// Header entries kept per frame for routing (more are skipped, not refused), default 64.
    public var maxHeaders: Int

    public init(maxFrameBytes: Int = 16 << 20, maxHeaders: Int = 64) {
        self.maxFrameBytes = maxFrameBytes
        self.maxHeaders = maxHeaders
    }

    public static let `default` = RPCLimits()
}

public enum RPCFrameLength: Equatable, Sendable {
    case incomplete(needed: Int)
    case complete(length: Int)
    case invalid(RPCError)
}

/// A refused frame: which rule it broke, for the counter and the log.
public struct RPCError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: StaticString
    public init(_ reason: StaticString) { self.reason = reason }
    public var description: String { "\(reason)" }
    public static func == (a: RPCError, b: RPCError) -> Bool { "\(a.reason)" == "\(b.reason)" }
}

/// Why the proxy answers a request itself.
public enum RPCErrorKind: Sendable, Equatable {
    /// The upstream did not answer within the timeout.
    case timeout
    /// No route, no cluster host, or the upstream connection failed.
    case noUpstream
    /// A circuit breaker refused the request.
    case overflow
    /// The request could not be decoded.
    case codec
    /// The upstream connection was lost with the request in flight.
    case upstreamReset
}

/// What kind of frame it is.
public enum RPCFrameKind: Sendable, Equatable {
    case request
    /// A request that expects no response.
    case oneway
    case response
    case heartbeatRequest
    case heartbeatResponse
    /// The peer is going away (Bolt GoAway).
    case goAway
}

/// The header facts the proxy needs from one frame. Byte ranges are offsets into the frame.
/// Reused across frames (`reset()`); holds up to `RPCLimits.maxHeaders` header entries without allocating.
public struct RPCFrameInfo: Sendable {
    public var kind: RPCFrameKind = .request
    public var requestID: UInt64 = 0
    /// Bolt: the header's timeout (ms); Dubbo: the `timeout` attachment when present. nil when absent.
    public var timeoutMs: Int?
    /// Response status as the protocol encodes it (Bolt respStatus, Dubbo status byte).
    public var status: Int = 0
    /// Protocol specifics the encoders need to answer (Bolt: proto version, codec; Dubbo: serialization id).
    public var protocolVersion: UInt8 = 0
    public var codecByte: UInt8 = 0
    /// Routing fields as byte ranges (start, count) into the frame: service (Bolt header `service` or
    /// `sofa_head_target_service`; Dubbo service path, or attachment `interface` when present), method, version, group.
    public var service: Range<Int>?
    public var method: Range<Int>?
    public var version: Range<Int>?
    public var group: Range<Int>?
    /// All header map entries seen (Bolt header map; Dubbo attachments), up to the limit.
    public var headerNames: [Range<Int>] = []
    public var headerValues: [Range<Int>] = []

    public init() {
        headerNames.reserveCapacity(64)
        headerValues.reserveCapacity(64)
    }

    public mutating func reset() {
        kind = .request
        requestID = 0
        timeoutMs = nil
        status = 0
        protocolVersion = 0
        codecByte = 0
        service = nil
        method = nil
        version = nil
        group = nil
        headerNames.removeAll(keepingCapacity: true)
        headerValues.removeAll(keepingCapacity: true)
    }

    /// Value of header `name` (exact bytes), searched in order.
    public func header(_ name: UnsafeRawBufferPointer, in frame: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        for (i, r) in headerNames.enumerated() where r.count == name.count {
            var same = true
            for j in 0..<r.count where frame[r.lowerBound + j] != name[j] {
                same = false
                break
            }
            if same { return UnsafeRawBufferPointer(rebasing: frame[headerValues[i]]) }
        }
        return nil
    }
}
