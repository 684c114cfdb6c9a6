import SkiffControl
import SkiffNet

/// The process-wide splice-mode families of `/metrics` (tcp_proxy directions moving bulk bytes with splice(2),
/// docs/architecture.md "Splice mode"). On the scraping thread; reads relaxed atomics.
extension AdminAPI {
    static func spliceFamilies(_ p: inout PrometheusWriter) {
        p.counter(
            name: "skiff_splice_routes_total",
            help: "tcp_proxy directions switched to splice(2) after a large read (plain TCP both sides, no workers).",
            value: SpliceStats.routes.load(ordering: .relaxed))
        p.counter(
            name: "skiff_splice_bytes_total", help: "Bytes moved to sockets by splice(2).",
            value: SpliceStats.bytes.load(ordering: .relaxed))
        p.gauge(
            name: "skiff_splice_pipes", help: "Pipes open for splice(2) (two descriptors each).",
            value: SpliceStats.pipesOpen.load(ordering: .relaxed))
        p.counter(
            name: "skiff_splice_pipe_failures_total",
            help: "Switches to splice(2) refused because no pipe could be made (EMFILE, ENFILE): those kept copying.",
            value: SpliceStats.pipeFailures.load(ordering: .relaxed))
    }
}
