/// Size limits the HTTP/1 codec enforces, so a peer cannot make the proxy buffer or scan without bound.
///
/// One value per listener (requests) or cluster (responses), copied into the scanner and trackers: reading it costs
/// nothing on the hot path. Defaults follow nginx and Envoy where they agree.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line (method, target, version; CRLF excluded) before a 414.
    public var maxRequestLine: Int
    /// Longest head (start line, header lines, final CRLF) before a 431 (502 for responses).
    public var maxHeaderBytes: Int
    /// Most header lines before a 431; also bounded by the `HTTPHeaderTable`'s capacity.
    public var maxHeaders: Int
    /// Longest chunk extension (from `;` to the CRLF) in a chunked body.
    public var maxChunkExtension: Int
    /// Largest trailer section (every trailer line and the final CRLF) after the last chunk.
    public var maxTrailerBytes: Int
    /// Largest single chunk size accepted; the size line is refused as soon as it exceeds this.
    public var maxChunkSize: Int

    public init(
        maxRequestLine: Int = 8192,
        maxHeaderBytes: Int = 65536,
        maxHeaders: Int = 100,
        maxChunkExtension: Int = 4096,
        maxTrailerBytes: Int = 16384,
        maxChunkSize: Int = Int.max
    ) {
        self.maxRequestLine = maxRequestLine
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
        self.maxChunkExtension = maxChunkExtension
        self.maxTrailerBytes = maxTrailerBytes
        self.maxChunkSize = maxChunkSize
    }

    /// The defaults: 8 KiB request line, 64 KiB head, 100 headers, 4 KiB chunk extension, 16 KiB trailers.
    public static let `default` = HTTPLimits()
}
