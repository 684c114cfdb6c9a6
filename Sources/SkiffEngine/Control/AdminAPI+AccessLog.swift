import SkiffAccessLog
import SkiffControl

/// `/metrics`: the access-log families, per file (`path` as configured; `stdout`, `stderr`).
extension AdminAPI {
    static func accessLogFamilies(_ p: inout PrometheusWriter, _ engine: Engine) {
        let files = engine.accessLogs.stats
        for f in files {
            p.counter(
                name: "skiff_access_log_lines_total", help: "Access-log lines written.",
                labels: [(name: "path", value: f.path)], value: f.lines)
        }
        for f in files {
            p.counter(
                name: "skiff_access_log_bytes_total", help: "Access-log bytes written.",
                labels: [(name: "path", value: f.path)], value: f.bytes)
        }
        for f in files {
            for (reason, v) in [("buffer_full", f.droppedBufferFull), ("write_error", f.droppedWriteError)] {
                p.counter(
                    name: "skiff_access_log_dropped_total",
                    help: "Access-log lines dropped: the writer was behind (buffer_full) or the write failed (write_error).",
                    labels: [(name: "path", value: f.path), (name: "reason", value: reason)], value: v)
            }
        }
    }

    /// `/metrics`: the tracing families (docs/tracing.md), when the config traces.
    static func tracingFamilies(_ p: inout PrometheusWriter, _ engine: Engine) {
        guard engine.config.tracing != nil else { return }
        let started = [
            ("absent", TraceCounters.startedAbsent.load(ordering: .relaxed)),
            ("malformed", TraceCounters.startedMalformed.load(ordering: .relaxed)),
        ]
        for (reason, v) in started {
            p.counter(
                name: "skiff_tracing_contexts_started_total",
                help: "Trace contexts Skiff started: the request had none (absent) or one it would not pass on (malformed).",
                labels: [(name: "reason", value: reason)], value: v)
        }
        p.counter(
            name: "skiff_tracing_children_total",
            help: "Calls numbered as children of an in-flight traced request (rpc id R.2, R.3, ...).", labels: [],
            value: TraceCounters.children.load(ordering: .relaxed))
        p.counter(
            name: "skiff_tracing_unnumbered_total",
            help: "Traced requests whose calls could not be numbered (the table of in-flight requests was full).",
            labels: [], value: TraceChildren.shared.overflows.load(ordering: .relaxed))
        p.counter(
            name: "skiff_tracing_edit_failed_total",
            help: "Bolt requests sent without the trace context Skiff decided (the edited header map did not fit).",
            labels: [], value: TraceCounters.editFailed.load(ordering: .relaxed))
    }
}
