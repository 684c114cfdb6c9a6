import SkiffJSON

/// `http2_protocol_options` on a listener or a cluster (Skiff's; Envoy's field names): the HTTP/2 settings of its
/// connections, each bounded (`HTTP2Settings`'s ranges) so one connection cannot hold unbounded memory in Skiff.
extension ConfigDecoder {
    mutating func http2Settings(_ v: JSONValue, at path: String) -> HTTP2Settings {
        let schema = ObjectSchema(
            known: ["max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size"],
            unsupported: [
                "hpack_table_size", "allow_connect", "max_outbound_frames",
                "override_stream_error_on_invalid_http_message",
            ])
        var settings = HTTP2Settings()
        guard let f = fields(v, at: path, schema) else { return settings }
        if let n = int(f, "max_concurrent_streams", HTTP2Settings.streamRange) {
            settings.maxConcurrentStreams = UInt32(n)
        }
        if let n = int(f, "initial_stream_window_size", HTTP2Settings.streamWindowRange) {
            settings.initialStreamWindowSize = UInt32(n)
        }
        if let n = int(f, "initial_connection_window_size", HTTP2Settings.connectionWindowRange) {
            settings.initialConnectionWindowSize = UInt32(n)
        }
        return settings
    }
}
