/// Responses the proxy writes itself (refusals, 502/503/504, health answers).
extension HTTPRenderer {
    /// Renders a complete local response, head and body:
    ///
    /// ```
    /// HTTP/1.1 <status> <reason>\r\n
    /// server: skiff\r\n
    /// content-length: <body.count>\r\n
    /// content-type: text/plain\r\n
    /// <extra headers>\r\n
    /// connection: close\r\n          (when connectionClose)
    /// \r\n
    /// <body>
    /// ```
    ///
    /// - Parameters:
    ///   - status: the status code.
    ///   - reason: the reason phrase; nil for the standard one (`Unknown` when there is none).
    ///   - body: the body bytes, copied after the head.
    ///   - extraHeaders: e.g. `x-skiff-reason: <why>`, `x-skiff-overflow: <which>`.
    ///   - connectionClose: adds `connection: close`.
    /// - Returns: bytes written, or nil if they do not fit in `capacity`.
    public static func renderLocalResponse(
        status: Int, reason: StaticString? = nil, body: UnsafeRawBufferPointer,
        extraHeaders: HTTPExtraHeaders = HTTPExtraHeaders(), connectionClose: Bool,
        into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        var w = HTTPOutputWriter(out, capacity: capacity)
        w.write("HTTP/1.1 ")
        w.writeDecimal(status)
        w.write(byte: ASCII.sp)
        w.write(reason ?? HTTPReasonPhrase.phrase(for: status) ?? "Unknown")
        w.write("\r\nserver: skiff\r\ncontent-length: ")
        w.writeDecimal(body.count)
        w.write("\r\ncontent-type: text/plain\r\n")
        writeExtra(&w, extraHeaders)
        if connectionClose { w.write("connection: close\r\n") }
        w.write("\r\n")
        w.write(body)
        return w.result
    }

    /// The answer to a refused message: `error.status`, `x-skiff-reason: <error.reason>`, the reason and a newline
    /// as the body, and `connection: close` (after a refusal the connection's framing cannot be trusted).
    public static func renderRefusal(
        _ error: HTTPParseError, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        var extra = HTTPExtraHeaders()
        extra.append(name: "x-skiff-reason", value: error.reasonBytes)
        // The body is the reason plus "\n": render it in place after the head instead of building it elsewhere.
        var w = HTTPOutputWriter(out, capacity: capacity)
        w.write("HTTP/1.1 ")
        w.writeDecimal(error.status)
        w.write(byte: ASCII.sp)
        w.write(HTTPReasonPhrase.phrase(for: error.status) ?? "Unknown")
        w.write("\r\nserver: skiff\r\ncontent-length: ")
        w.writeDecimal(error.reasonBytes.count + 1)
        w.write("\r\ncontent-type: text/plain\r\n")
        writeExtra(&w, extra)
        w.write("connection: close\r\n\r\n")
        w.write(error.reasonBytes)
        w.write(byte: ASCII.lf)
        return w.result
    }
}
