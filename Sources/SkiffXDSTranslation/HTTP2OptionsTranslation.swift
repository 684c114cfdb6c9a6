import SkiffXDSProto

/// `http2_protocol_options` (core.v3.Http2ProtocolOptions) on an http_connection_manager or a cluster. Skiff's
/// HTTP/2 settings are fixed (`HTTP2Limits`), so a field is accepted only when it asks for what Skiff does; anything
/// else is refused with its path rather than ignored. Any thread.
enum HTTP2OptionsTranslation {
    static let fixed =
        "skiff's HTTP/2 settings are fixed: 100 concurrent streams, a 65535-byte stream window, a "
        + "1 MiB connection window, a 4096-byte HPACK table"

    static func check(
        _ o: Envoy_Config_Core_V3_Http2ProtocolOptions, at path: String, _ context: XDSContext
    ) throws(XDSRejection) {
        try context.checkUnknown(o, at: path)
        let fields: [(String, Bool, UInt32, UInt32)] = [
            ("hpack_table_size", o.hasHpackTableSize, o.hpackTableSize.value, 4096),
            ("max_concurrent_streams", o.hasMaxConcurrentStreams, o.maxConcurrentStreams.value, 100),
            ("initial_stream_window_size", o.hasInitialStreamWindowSize, o.initialStreamWindowSize.value, 65_535),
            (
                "initial_connection_window_size", o.hasInitialConnectionWindowSize, o.initialConnectionWindowSize.value,
                1 << 20
            ),
        ]
        for (name, set, value, skiffs) in fields where set && value != skiffs {
            throw context.reject(path.dot(name), "\(value) is not supported (\(fixed))")
        }
    }
}
