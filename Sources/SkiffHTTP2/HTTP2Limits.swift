/// What one HTTP/2 connection may ask of Skiff: the SETTINGS it announces and the abuse limits the session enforces
/// (each breach ends the connection with a GOAWAY; see `HTTP2Session`).
public struct HTTP2Limits: Sendable, Equatable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS (server side: streams a client may open at once).
    public var maxConcurrentStreams: UInt32 = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE (each stream's receive window).
    public var initialWindowSize: UInt32 = 65_535
    /// The connection's receive window, across its streams (raised from the protocol's 65,535 by a WINDOW_UPDATE).
    public var connectionWindowSize: UInt32 = 1 << 20
    /// SETTINGS_MAX_HEADER_LIST_SIZE: a header list, names and values plus 32 bytes per field (RFC 9113).
    public var maxHeaderListBytes: UInt32 = 64 * 1024
    /// CONTINUATION frames after one HEADERS.
    public var maxContinuations: Int = 8
    /// Entries in one SETTINGS frame.
    public var maxSettingsEntries: Int = 32
    /// Peer resets (RST_STREAM) allowed in a burst, and refilled per second (rapid reset, CVE-2023-44487).
    public var resetBurst: UInt64 = 1000
    public var resetsPerSecond: UInt64 = 33
    /// Queued ACKs (SETTINGS, PING) the peer may leave unread before the connection is ended (floods).
    public var maxOutboundAcks: Int = 1000

    public init() {}
}
