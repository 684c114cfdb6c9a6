import SkiffConfig
import SkiffXDSProto

/// `http2_protocol_options` (core.v3.Http2ProtocolOptions) on an http_connection_manager or a cluster, into the
/// listener's or the cluster's `HTTP2Settings`: concurrent streams and the two windows within Skiff's bounds (a value
/// beyond them is refused with its path, never clamped); the HPACK table stays 4096 bytes. Any thread.
enum HTTP2OptionsTranslation {
    static func settings(
        _ o: Envoy_Config_Core_V3_Http2ProtocolOptions, at path: String, _ context: XDSContext
    ) throws(XDSRejection) -> HTTP2Settings {
        try context.checkUnknown(o, at: path)
        if o.hasHpackTableSize && o.hpackTableSize.value != 4096 {
            throw context.reject(
                path.dot("hpack_table_size"), "\(o.hpackTableSize.value) is not supported (skiff's is 4096 bytes)")
        }
        var s = HTTP2Settings()
        func value(_ set: Bool, _ v: UInt32, _ name: String, _ range: ClosedRange<Int>) throws(XDSRejection) -> UInt32?
        {
            guard set else { return nil }
            guard range.contains(Int(v)) else {
                throw context.reject(
                    path.dot(name), "\(v) is out of skiff's range \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }
        if let v = try value(
            o.hasMaxConcurrentStreams, o.maxConcurrentStreams.value, "max_concurrent_streams", HTTP2Settings.streamRange
        ) {
            s.maxConcurrentStreams = v
        }
        if let v = try value(
            o.hasInitialStreamWindowSize, o.initialStreamWindowSize.value, "initial_stream_window_size",
            HTTP2Settings.streamWindowRange)
        {
            s.initialStreamWindowSize = v
        }
        if let v = try value(
            o.hasInitialConnectionWindowSize, o.initialConnectionWindowSize.value, "initial_connection_window_size",
            HTTP2Settings.connectionWindowRange)
        {
            s.initialConnectionWindowSize = v
        }
        return s
    }
}
