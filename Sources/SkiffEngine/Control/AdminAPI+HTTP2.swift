import SkiffControl
import SkiffProxy

/// The HTTP/2 listener's connection-level families (`skiff_http2_*`), beside its per-request `downstream_request_*`.
extension AdminAPI {
    static func http2Families(_ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, _ s: HTTP2ListenerStats) {
        p.counter(
            name: "skiff_http2_connections_total", help: "Client connections that spoke HTTP/2.", labels: labels,
            value: s.connectionsTotal.load(ordering: .relaxed))
        p.counter(
            name: "skiff_http2_protocol_errors_total",
            help: "Connections ended with GOAWAY for a protocol error or an abuse limit (floods, rapid reset, CONTINUATION).",
            labels: labels, value: s.protocolErrors.load(ordering: .relaxed))
        p.counter(
            name: "skiff_http2_header_list_too_large_total",
            help: "Streams reset for a header list over SETTINGS_MAX_HEADER_LIST_SIZE.", labels: labels,
            value: s.headerListTooLarge.load(ordering: .relaxed))
        p.counter(
            name: "skiff_http2_client_resets_total", help: "Streams the client reset before their response was complete.",
            labels: labels, value: s.clientResets.load(ordering: .relaxed))
        p.counter(
            name: "skiff_http2_upstream_resets_total",
            help: "Streams reset towards the client because the upstream reset or lost them mid-response.",
            labels: labels, value: s.upstreamResets.load(ordering: .relaxed))
        p.counter(
            name: "skiff_http2_idle_timeouts_total", help: "Connections ended for carrying no stream for the idle timeout.",
            labels: labels, value: s.idleTimeouts.load(ordering: .relaxed))
        p.counter(
            name: "skiff_http2_stream_idle_timeouts_total",
            help: "Streams answered 408 or reset for moving nothing either way for stream_idle_timeout.",
            labels: labels, value: s.streamIdleTimeouts.load(ordering: .relaxed))
    }
}
