import SkiffConfig
import SkiffHTTP2

extension HTTP2Limits {
    /// The abuse limits with a listener's or a cluster's `http2_protocol_options` in place of their defaults.
    init(_ settings: HTTP2Settings) {
        self.init()
        maxConcurrentStreams = settings.maxConcurrentStreams
        initialWindowSize = settings.initialStreamWindowSize
        connectionWindowSize = settings.initialConnectionWindowSize
    }
}
