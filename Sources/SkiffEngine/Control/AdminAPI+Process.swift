import SkiffControl
import SkiffSystem

/// The process-wide families of `/metrics`: the standard `process_*` set (as Prometheus client libraries write it;
/// left out with the metrics sink's `disable_collect_process`), `skiff_build_info`, and the config reloads. On the
/// scraping thread; reads `/proc/self` and relaxed atomics.
extension AdminAPI {
    static func processFamilies(_ p: inout PrometheusWriter, _ engine: Engine) {
        if engine.collectProcessMetrics, let s = ProcessStats.current() {
            p.counter(
                name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.",
                value: s.cpuSeconds)
            p.gauge(
                name: "process_resident_memory_bytes", help: "Resident memory size in bytes.",
                value: s.residentMemoryBytes)
            p.gauge(
                name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.",
                value: s.virtualMemoryBytes)
            p.gauge(name: "process_open_fds", help: "Number of open file descriptors.", value: s.openFDs)
            p.gauge(name: "process_max_fds", help: "Maximum number of open file descriptors.", value: s.maxFDs)
            p.gauge(
                name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
                value: s.startTimeSeconds)
        }
        p.gauge(
            name: "skiff_build_info",
            help: "1, labelled with the version and build (as skiff --version and /api/v1/version say).",
            labels: [
                (name: "version", value: engine.version), (name: "build", value: BuildInfo.description),
                (name: "configuration", value: BuildInfo.configuration), (name: "compiler", value: BuildInfo.compiler),
            ], value: 1)
        let reloads = engine.reloadStats
        for origin in ConfigReloadStats.Origin.allCases {
            for outcome in ConfigReloadStats.Outcome.allCases {
                p.counter(
                    name: "skiff_config_reloads_total",
                    help: "Configs applied or refused since start, by origin (file: SIGHUP or skiff reload; xds).",
                    labels: [(name: "origin", value: origin.rawValue), (name: "result", value: outcome.rawValue)],
                    value: reloads.count(origin, outcome))
            }
        }
        p.gauge(
            name: "skiff_config_last_reload_success_timestamp_seconds",
            help: "When a config was last applied (the start's included), seconds since the epoch.",
            value: Double(reloads.lastSuccessWallMs) / 1000)
        p.gauge(
            name: "skiff_config_last_reload_successful",
            help: "1 when the last config applied (or the start's), 0 when the last one was refused.",
            value: reloads.lastAttemptSucceeded ? 1 : 0)
    }
}

/// How this binary was built, for `/api/v1/version` and `skiff_build_info`.
enum BuildInfo {
    static var configuration: String {
        #if DEBUG
            return "debug"
        #else
            return "release"
        #endif
    }

    static var compiler: String {
        #if compiler(>=6.3)
            return "swift 6.3+"
        #else
            return "swift 6"
        #endif
    }

    /// `release, swift 6.3+, linux`.
    static var description: String { "\(configuration), \(compiler), linux" }
}
