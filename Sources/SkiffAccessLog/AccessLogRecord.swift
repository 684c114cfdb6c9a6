import SkiffNet
import SkiffUpstream

/// The downstream protocol a line reports (`%protocol%`), in MOSN's spelling.
public enum AccessLogProtocol: UInt8, Sendable {
    case http1, http2, bolt, boltv2, dubbo, tcp

    var text: StaticString {
        switch self {
        case .http1: "Http1"
        case .http2: "Http2"
        case .bolt: "bolt"
        case .boltv2: "boltv2"
        case .dubbo: "dubbo"
        case .tcp: "tcp"
        }
    }
}

/// Why a request did not end as the upstream answered it: MOSN's `api.ResponseFlag` bits (printed by
/// `%response_flag%` and `%upstream_transport_failure_reason%`) and Envoy's short codes (`%RESPONSE_FLAGS%`).
public struct AccessLogFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// UH
    public static let noHealthyUpstream = AccessLogFlags(rawValue: 0x2)
    /// UT
    public static let upstreamRequestTimeout = AccessLogFlags(rawValue: 0x4)
    /// LR: Skiff reset the request itself.
    public static let localReset = AccessLogFlags(rawValue: 0x8)
    /// UR
    public static let upstreamRemoteReset = AccessLogFlags(rawValue: 0x10)
    /// UF
    public static let upstreamConnectionFailure = AccessLogFlags(rawValue: 0x20)
    /// UC
    public static let upstreamConnectionTermination = AccessLogFlags(rawValue: 0x40)
    /// UO
    public static let upstreamOverflow = AccessLogFlags(rawValue: 0x80)
    /// NR
    public static let noRouteFound = AccessLogFlags(rawValue: 0x100)
    /// DC
    public static let downstreamTerminated = AccessLogFlags(rawValue: 0x2000)
    /// URX: retries were spent (a Skiff bit outside MOSN's set: not in the hex value).
    public static let retryLimitExceeded = AccessLogFlags(rawValue: 0x1_0000)
    /// SI: an HTTP/2 stream moved nothing either way for `stream_idle_timeout` (a Skiff bit: not in the hex value).
    public static let streamIdleTimeout = AccessLogFlags(rawValue: 0x2_0000)

    /// The bits MOSN defines, as `%upstream_transport_failure_reason%` prints them.
    var mosnBits: UInt32 { rawValue & 0xffff }

    /// Envoy's codes in Envoy's order.
    static let envoyCodes: [(AccessLogFlags, StaticString)] = [
        (.noHealthyUpstream, "UH"), (.upstreamRequestTimeout, "UT"), (.localReset, "LR"),
        (.upstreamRemoteReset, "UR"), (.upstreamConnectionFailure, "UF"), (.upstreamConnectionTermination, "UC"),
        (.upstreamOverflow, "UO"), (.noRouteFound, "NR"), (.retryLimitExceeded, "URX"),
        (.downstreamTerminated, "DC"), (.streamIdleTimeout, "SI"),
    ]
}

/// A downstream connection's addresses as lines print them, made once per connection (not per request): both
/// texts in one small block, IPv4 formatted by hand (no String).
public final class AccessLogAddresses: Sendable {
    private let block: ImmutableBytes
    private let localCount: Int

    public init(connection: Connection) {
        (block, localCount) = Self.make(connection.localAddress, connection.peerAddress)
    }

    public init(local: String, remote: String) {
        let l = Array(local.utf8.prefix(56))
        block = ImmutableBytes(String(decoding: l + Array(remote.utf8.prefix(56)), as: UTF8.self))
        localCount = l.count
    }

    deinit { block.deallocate() }

    public var local: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: block.buffer[0..<localCount]) }
    public var remote: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: block.buffer[localCount...]) }

    private static func make(_ local: SocketAddress?, _ remote: SocketAddress?) -> (ImmutableBytes, Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 112) { buf in
            let p = buf.baseAddress!
            let n = write(local, into: p)
            let m = write(remote, into: p + n)
            return (ImmutableBytes(UnsafeRawBufferPointer(start: p, count: n + m)), n)
        }
    }

    /// `ip:port` (`[ip]:port` for IPv6), `-` when unknown; at most 56 bytes.
    static func write(_ a: SocketAddress?, into p: UnsafeMutablePointer<UInt8>) -> Int {
        switch a {
        case .v4(let sin)?:
            var c = LineCursor(start: p)
            let v = UInt32(bigEndian: sin.sin_addr.s_addr)
            c.decimal(UInt64(v >> 24))
            c.byte(UInt8(ascii: "."))
            c.decimal(UInt64(v >> 16 & 0xff))
            c.byte(UInt8(ascii: "."))
            c.decimal(UInt64(v >> 8 & 0xff))
            c.byte(UInt8(ascii: "."))
            c.decimal(UInt64(v & 0xff))
            c.byte(UInt8(ascii: ":"))
            c.decimal(UInt64(UInt16(bigEndian: sin.sin_port)))
            return c.pointer - p
        case let a?:
            let text = Array(a.description.utf8.prefix(56))
            p.update(from: text, count: text.count)
            return text.count
        case nil:
            p.pointee = UInt8(ascii: "-")
            return 1
        }
    }
}

/// What one line says about one request (or tcp_proxy session): filled by the proxy as the request goes, written by
/// `ListenerAccessLog.write` when it ends, then reused for the next request. Nothing here allocates or counts
/// references per request: header values are copied into a capture area allocated with the record, and the host's,
/// cluster's and connection's texts are borrowed as raw bytes from objects the request holds until its line is
/// written.
///
/// Threads: confined to the executor of the request (a tcp_proxy session's record: to whichever thread ends it,
/// under the session's lock).
public final class AccessLogRecord {
    /// Monotonic ns: arrival (`start_time` is derived from it), request sent upstream, upstream response head,
    /// request read in full; 0 = never.
    public var startNs: UInt64 = 0
    public var requestSentNs: UInt64 = 0
    public var responseHeadNs: UInt64 = 0
    public var requestFinishedNs: UInt64 = 0
    /// Monotonic ns when the line is written (`duration`).
    public var endNs: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    public var proto: AccessLogProtocol = .http1
    /// HTTP status; 0 = no response.
    public var responseCode: Int = 0
    /// The RPC response's status as the protocol encodes it; -1 = none.
    public var rpcStatus: Int = -1
    public var flags: AccessLogFlags = []
    public var connectionID: UInt64 = 0
    /// 0 = none.
    public var upstreamConnectionID: UInt64 = 0
    /// Borrowed texts (see `setUpstream`, `setDownstream`); nil = absent.
    @usableFromInline var upstreamAddress: UnsafeRawBufferPointer?
    @usableFromInline var upstreamHostname: UnsafeRawBufferPointer?
    @usableFromInline var clusterName: UnsafeRawBufferPointer?
    var downstreamLocal: UnsafeRawBufferPointer?
    var downstreamRemote: UnsafeRawBufferPointer?
    /// The log a pooled record (`ListenerAccessLog.takeRecord`) came from and goes back to; nil otherwise.
    public internal(set) var owner: ListenerAccessLog?

    /// Captured values (headers, RPC service and method): `slots[2i]` start, `slots[2i+1]` length (-1 = absent).
    /// Allocated only for formats that capture (`slotCount > 0`).
    let captureBytes: UnsafeMutablePointer<UInt8>?
    var captureUsed = 0
    /// Some slot was captured since the last reset.
    @usableFromInline var capturedAny = false
    let slots: UnsafeMutablePointer<Int32>?
    let slotCount: Int

    /// The downstream addresses' text when the record holds it itself (`setDownstream(connection:)`): 112 bytes.
    private let downstreamText: UnsafeMutablePointer<UInt8>

    /// The request's trace context when its listener traces (`AccessLogRecord+Trace.swift`): the SOFA trace id, the
    /// rpc id and the W3C `traceparent` as sent upstream, each in its own `TraceField.capacity` bytes.
    let traceText: UnsafeMutablePointer<UInt8>
    /// Bytes in use of each (0 = absent): trace id, rpc id, traceparent.
    @usableFromInline var traceCounts: (Int32, Int32, Int32) = (0, 0, 0)
    /// The slot this request holds in `TraceChildren.shared` while it is a server span whose calls extend its rpc id;
    /// -1 = none.
    @usableFromInline var traceChildSlot: Int32 = -1
    /// Which SOFA values differ from what the client sent (set with the trace context).
    public internal(set) var traceSend = SOFATraceHeaders()

    /// Bytes one request may capture in all; a value past it is cut.
    public static let captureCapacity = 4096

    public init(slots: Int) {
        downstreamText = .allocate(capacity: 112)
        traceText = .allocate(capacity: 3 * TraceField.capacity)
        slotCount = max(0, slots)
        if slotCount > 0 {
            captureBytes = .allocate(capacity: Self.captureCapacity)
            let s = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * slotCount)
            s.initialize(repeating: -1, count: 2 * slotCount)
            self.slots = s
        } else {
            captureBytes = nil
            self.slots = nil
        }
    }

    deinit {
        downstreamText.deallocate()
        traceText.deallocate()
        captureBytes?.deallocate()
        slots?.deallocate()
    }

    /// The chosen host and cluster (nil: none), read as borrowed bytes: both must outlive the line's writing (the
    /// request holds them).
    @inline(__always)
    public func setUpstream(host: Host?, cluster: Cluster?) {
        upstreamAddress = host?.logAddress.buffer
        upstreamHostname = host?.logHostname?.buffer
        clusterName = cluster?.logName.buffer
    }

    /// The same, from texts the caller read (`Host.logAddress`, `Host.logHostname`, `Cluster.logName`): at most
    /// `CompiledAccessLogFormat.maxTextBytes` each, which the lane's quick room check relies on.
    @inlinable
    public func setUpstream(
        address: UnsafeRawBufferPointer?, hostname: UnsafeRawBufferPointer?, cluster: UnsafeRawBufferPointer?
    ) {
        upstreamAddress = address
        upstreamHostname = hostname
        clusterName = cluster
    }

    /// The downstream connection's addresses, borrowed: `addresses` must outlive the record's use (its connection's
    /// handler holds it).
    @inline(__always)
    public func setDownstream(_ addresses: AccessLogAddresses) {
        downstreamLocal = addresses.local
        downstreamRemote = addresses.remote
    }

    /// `connection`'s addresses, formatted into the record itself (once per connection: a record kept by the
    /// connection's handler for all its requests).
    public func setDownstream(connection: Connection) {
        let n = AccessLogAddresses.write(connection.localAddress, into: downstreamText)
        let m = AccessLogAddresses.write(connection.peerAddress, into: downstreamText + n)
        downstreamLocal = UnsafeRawBufferPointer(start: downstreamText, count: n)
        downstreamRemote = UnsafeRawBufferPointer(start: downstreamText + n, count: m)
    }

    /// Forgets the request (counters to zero, captures absent); the downstream addresses stay. Inlinable: the
    /// proxies call it on every request.
    @inlinable
    public func reset() {
        startNs = 0
        requestSentNs = 0
        responseHeadNs = 0
        requestFinishedNs = 0
        endNs = 0
        bytesSent = 0
        bytesReceived = 0
        responseCode = 0
        rpcStatus = -1
        flags = []
        upstreamConnectionID = 0
        upstreamAddress = nil
        upstreamHostname = nil
        clusterName = nil
        if capturedAny { clearCaptures() }
        if traceCounts.0 != 0 || traceChildSlot >= 0 { clearTrace() }
    }

    public func clearCaptures() {
        captureUsed = 0
        capturedAny = false
        slots?.update(repeating: -1, count: 2 * slotCount)
    }

    /// Copies `value` as slot `i`'s (cut when the capture area is full). A slot captured twice keeps the first.
    public func capture(_ i: Int, _ value: UnsafeRawBufferPointer) {
        guard i < slotCount, let slots, let captureBytes, slots[2 * i + 1] < 0 else { return }
        let n = min(value.count, Self.captureCapacity - captureUsed)
        if n > 0 { UnsafeMutableRawPointer(captureBytes + captureUsed).copyMemory(from: value.baseAddress!, byteCount: n) }
        slots[2 * i] = Int32(captureUsed)
        slots[2 * i + 1] = Int32(n)
        captureUsed += n
        capturedAny = true
    }

    /// Slot `i`'s value, nil when absent.
    @inline(__always)
    func captured(_ i: Int) -> UnsafeRawBufferPointer? {
        // A record made before a reload changed the plan may have fewer slots.
        guard i < slotCount, let slots, let captureBytes else { return nil }
        let n = slots[2 * i + 1]
        guard n >= 0 else { return nil }
        return UnsafeRawBufferPointer(start: captureBytes + Int(slots[2 * i]), count: Int(n))
    }

    /// True when slot `i` holds a value.
    @inline(__always)
    public func hasCapture(_ i: Int) -> Bool { captured(i) != nil }
}
