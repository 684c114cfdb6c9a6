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
}
