import ArgumentParser
import Glibc
import SkiffConfig
import SkiffControl
import SkiffEngine
import SkiffJSON
import SkiffTelemetry

/// `skiff ctl`: talks to a running skiff over its control socket.
struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running skiff over its control socket (stats, hosts, events, host state).",
        subcommands: [
            CtlStats.self, CtlHosts.self, CtlEvents.self, CtlSnapshot.self, CtlWatch.self, CtlDrain.self, CtlReady.self,
            CtlMaint.self, CtlSetState.self, CtlRequests.self, CtlWeight.self, CtlXDS.self, CtlLogLevel.self,
        ]
    )

    /// Accepted before the subcommand too (`skiff ctl --socket P stats`); subcommands read the same group.
    @OptionGroup var socket: SocketOption
}

struct SocketOption: ParsableArguments {
    @Option(name: .long, help: "Control socket path (default: $SKIFF_CONTROL_SOCKET, $XDG_RUNTIME_DIR/skiff/skiff.sock, /run/skiff/skiff.sock for root, /tmp/skiff-UID/skiff.sock).")
    var socket: String?

    @Option(
        name: .customLong("answer-timeout"),
        help: "How long to wait for each answer from the control socket (e.g. 5s, 500ms; at most 1h). None: exit 2.")
    var answerTimeout: String = "5s"

    /// The longest `--answer-timeout`.
    static let maxAnswerTimeoutNs: UInt64 = 3_600_000_000_000

    /// `--answer-timeout` in nanoseconds, or a one-line error and exit 1.
    func answerTimeoutNs() throws -> UInt64 {
        guard let d = DurationText.parse(answerTimeout), d > .zero, d <= .seconds(3600) else {
            printError(
                "error: --answer-timeout: expected a duration from 1ms to 1h (e.g. 5s, 500ms), "
                    + "got \"\(answerTimeout)\"")
            throw ExitCode(1)
        }
        let c = d.components
        return max(1_000_000, UInt64(c.seconds) * 1_000_000_000 + UInt64(c.attoseconds / 1_000_000_000))
    }

    var path: String { socket ?? defaultControlSocket() }

    func client() throws -> ControlClient {
        let timeout = try answerTimeoutNs()
        do {
            return try ControlClient(path: path, answerTimeoutNs: timeout)
        } catch let e as CLIError {
            printError("error: \(e)")
            throw ExitCode(e.exitCode)
        }
    }
}

/// Runs a request and prints either the raw JSON reply or a table.
func runRequest(_ socket: SocketOption, _ line: String, json: Bool, table: (JSONValue) -> Void) throws {
    let c = try socket.client()
    do {
        if json {
            try c.send(line)
            guard let reply = try c.readLine() else { throw CLIError("skiff closed the control connection") }
            print(String(decoding: reply, as: UTF8.self))
            if let v = try? JSONParser.parse(reply), v["ok"]?.boolValue == false { throw ExitCode(1) }
            return
        }
        table(try c.request(line))
    } catch let e as CLIError {
        printError("error: \(e)")
        throw ExitCode(e.exitCode)
    }
}

/// Left-aligned first column, right-aligned numbers.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            let pad = String(repeating: " ", count: widths[i] - c.count)
            return i == 0 ? c + pad : pad + c
        }.joined(separator: "  ")
    }
    print(line(header))
    for r in rows { print(line(r)) }
}

struct CtlStats: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Listeners, clusters and threads.")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Print the raw JSON reply.") var json = false

    func run() throws {
        try runRequest(socket, #"{"id":1,"cmd":"stats"}"#, json: json) { reply in
            let stats = FrameReply(json: reply)
            let f = stats.frame
            var header =
                "skiff \(f.version.isEmpty ? "?" : f.version)  pid \(f.pid)  up \(Humanize.duration(ns: f.uptimeMs &* 1_000_000))"
            if let state = stats.server?.state { header += "  \(state)" }
            if let errors = stats.server?.engineErrors, errors > 0 { header += "  engine errors \(errors)" }
            print(header)
            print("")
            printTable(
                ["LISTENER", "MODEL", "PROTO", "CX", "CX TOTAL", "RQ TOTAL", "2xx", "4xx", "5xx", "IN", "OUT", "BUF/WRITEV"],
                f.listeners.map { l in
                    [
                        l.name, l.model, l.protocol, "\(l.cxActive)", Humanize.count(l.cxTotal),
                        Humanize.count(l.requestsOrSessions ?? 0), Humanize.count(l.rq2xx ?? 0),
                        Humanize.count(l.rq4xx ?? 0), Humanize.count(l.rq5xx ?? 0), Humanize.bytes(l.writes.bytesIn),
                        Humanize.bytes(l.writes.bytesOut), format1(l.writes.buffersPerWritev),
                    ]
                })
            print("")
            printTable(
                ["CLUSTER", "LB", "RQ TOTAL", "ACTIVE", "CX", "RETRIES", "OVERFLOW", "P50 (since start)", "P99 (since start)"],
                f.clusters.map { c in
                    [
                        c.name, c.lb, Humanize.count(c.rqTotal), "\(c.rqActive)", "\(c.cxActive)",
                        Humanize.count(c.retries), Humanize.count(c.overflow.total),
                        Humanize.duration(ns: c.latency.p50Us &* 1000), Humanize.duration(ns: c.latency.p99Us &* 1000),
                    ]
                })
            printTLS(f)
            printThreads(f.threads)
        }
    }
}

func format1(_ v: Double) -> String {
    let t = Int((v * 10).rounded())
    return "\(t / 10).\(t % 10)"
}

struct CtlHosts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hosts", abstract: "Every host: admin state, health, load.")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Print the raw JSON reply.") var json = false

    func run() throws {
        try runRequest(socket, #"{"id":1,"cmd":"hosts"}"#, json: json) { reply in
            var rows: [[String]] = []
            for c in HostsReply(json: reply).clusters {
                for h in c.hosts {
                    let drain = h.drain.map { d in
                        "\(d.activeRq)rq \(d.activeCx)+\(d.idleCx)cx \(format1(Double(d.elapsedMs) / 1000))/\(format1(Double(d.timeoutMs) / 1000))s"
                    }
                    rows.append([
                        "\(c.name)/\(h.address)", h.admin, h.health, "\(h.weight)", "\(h.rqActive)", "\(h.cxActive)",
                        "\(h.cxIdle)", Humanize.count(h.rqTotal), Humanize.count(h.respFailed), Humanize.count(h.rqRetry),
                        Humanize.duration(ns: h.latency.p99Us &* 1000), h.checks?.last?.reason ?? "-", drain ?? "-",
                    ])
                }
            }
            printTable(
                ["CLUSTER/HOST", "ADMIN", "HEALTH", "WEIGHT", "ACTIVE RQ", "CX", "IDLE CX", "RQ TOTAL", "5xx", "RETRY", "P99", "LAST CHECK", "DRAIN"],
                rows)
        }
    }
}

struct CtlEvents: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Recent events.")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Print the raw JSON reply.") var json = false
    @Option(help: "How many (1 to 100000).") var limit = 50
    @Option(help: "Only events whose kind starts with this (host.admin, host., config.reload, conn.).") var kind: String?

    func run() throws {
        let range = ControlServer.eventLimitRange
        guard range.contains(limit) else {
            printError("error: --limit: must be from \(range.lowerBound) to \(range.upperBound), got \(limit)")
            throw ExitCode(1)
        }
        let filter = kind.map { ",\"kind\":\"\($0.filter { $0 != "\"" && $0 != "\\" })\"" } ?? ""
        try runRequest(socket, "{\"id\":1,\"cmd\":\"events\",\"limit\":\(limit)\(filter)}", json: json) { reply in
            for e in EventsReply(json: reply).events {
                // Strings as they are, anything else as its compact JSON.
                let parts = e.payloadMembers.map { m in
                    "\(m.key)=\(m.value.stringValue ?? String(decoding: JSONWriter.encode(m.value), as: UTF8.self))"
                }
                print("\(clockTime(e.ts))  \(e.kind.isEmpty ? "?" : e.kind)  \(parts.joined(separator: " "))")
            }
        }
    }
}

struct CtlSnapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "One full frame, every live connection included (JSON).")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Print the raw JSON reply (the only format).") var json = false

    func run() throws {
        try runRequest(socket, #"{"id":1,"cmd":"snapshot"}"#, json: true) { _ in }
    }
}

struct CtlWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "A line per frame: requests/s, active connections, errors (for terminals without the console).")
    @OptionGroup var socket: SocketOption
    @Option(help: "Stop after this many lines (0 = until interrupted).") var count = 0
    @Option(help: "Latency window: p50/p99 over this recent span (e.g. 10s, 1m).") var window = "10s"

    func run() throws {
        guard count >= 0 else {
            printError("error: --count: must be 0 (until interrupted) or more, got \(count)")
            throw ExitCode(1)
        }
        var recent = FrameWindow(windowMs: try parseWindow(window))
        let c = try socket.client()
        do {
            try c.send(#"{"id":1,"cmd":"subscribe"}"#)
            var last: (ts: UInt64, rq: UInt64, err: UInt64)?
            var printed = 0
            // The reply comes within the answer timeout; frames every tick, so the next one may take the timeout
            // plus two ticks (the longest tick until the first frame says its own).
            var nextWaitNs = c.answerTimeoutNs
            while let line = try c.readLine(deadlineNs: ControlClient.monotonicNs() + nextWaitNs) {
                let tickMs = UInt64(FramePublisher.intervalRange.upperBound)
                nextWaitNs = c.answerTimeoutNs + 2 * tickMs * 1_000_000
                guard let v = try? JSONParser.parse(line), case .frame(let f) = TelemetryLine(json: v) else { continue }
                if f.intervalMs > 0 { nextWaitNs = c.answerTimeoutNs + 2 * UInt64(f.intervalMs) * 1_000_000 }
                let rq = f.listeners.reduce(UInt64(0)) { $0 &+ ($1.requestsOrSessions ?? 0) }
                let err = f.listeners.reduce(UInt64(0)) { $0 &+ ($1.rq5xx ?? 0) }
                let cx = f.listeners.reduce(0) { $0 + $1.cxActive }
                let ts = f.ts
                recent.add(f)
                if let l = last, ts > l.ts {
                    let secs = Double(ts - l.ts) / 1000
                    print(
                        "\(clockTime(ts))  rps \(Humanize.rate(Double(rq - l.rq) / secs))  active_cx \(cx)  5xx/s \(Humanize.rate(Double(err - l.err) / secs))"
                            + "  \(windowLatencyText(f, recent))")
                    fflush(nil)
                    printed += 1
                    if count > 0 && printed >= count { return }
                }
                last = (ts, rq, err)
            }
        } catch let e as CLIError {
            printError("error: \(e)")
            throw ExitCode(e.exitCode)
        }
    }
}

struct CtlSetState: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-state", abstract: "Set a host's admin state: ready, drain or maint.")
    @OptionGroup var socket: SocketOption
    @Argument(help: "Cluster name.") var cluster: String
    @Argument(help: "Host address as in the config (127.0.0.1:8080).") var host: String
    @Argument(help: "ready, drain or maint.") var state: String

    func run() throws {
        let line = "{\"id\":1,\"cmd\":\"host.set_state\",\"cluster\":\(quoted(cluster)),\"host\":\(quoted(host)),\"state\":\(quoted(state))}"
        try runRequest(socket, line, json: false) { reply in
            print("\(cluster)/\(host): \(reply["from"]?.stringValue ?? "?") -> \(reply["state"]?.stringValue ?? "?")")
        }
    }
}

/// A JSON string literal.
func quoted(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default:
            if ch.value < 0x20 {
                let hex = String(ch.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(ch)
            }
        }
    }
    return out + "\""
}

/// Local wall-clock time of a millisecond timestamp, `HH:MM:SS.mmm`.
func clockTime(_ ms: UInt64) -> String {
    var t = time_t(ms / 1000)
    var tm = tm()
    localtime_r(&t, &tm)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let milli = Int(ms % 1000)
    let m3 = milli < 10 ? "00\(milli)" : milli < 100 ? "0\(milli)" : "\(milli)"
    return "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)).\(m3)"
}

/// Sets a host's state and returns the reply (exits 1 with the error on failure).
func setState(_ socket: SocketOption, cluster: String, host: String, state: String, kill: Bool = false) throws -> JSONValue {
    let c = try socket.client()
    do {
        return try c.request(
            "{\"id\":1,\"cmd\":\"host.set_state\",\"cluster\":\(quoted(cluster)),\"host\":\(quoted(host)),\"state\":\(quoted(state)),\"kill\":\(kill)}")
    } catch let e as CLIError {
        printError("error: \(e)")
        throw ExitCode(e.exitCode)
    }
}

struct CtlDrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Drain a host: no new requests or connections; in-flight work finishes. --wait exits 0 when DRAINED (safe to remove), 2 on timeout.")
    @OptionGroup var socket: SocketOption
    @Argument(help: "Cluster name.") var cluster: String
    @Argument(help: "Host address as in the config.") var host: String
    @Flag(help: "Wait until the host is drained, printing progress.") var wait = false
    @Option(help: "How long --wait waits (e.g. 30s, 2m).") var timeout: String = "30s"

    func run() throws {
        guard let limit = DurationText.parse(timeout) else {
            printError("error: --timeout: bad duration \"\(timeout)\" (expected e.g. 30s, 2m)")
            throw ExitCode(1)
        }
        let askedMs = DrainWait.wallMs()
        let r = try setState(socket, cluster: cluster, host: host, state: "drain")
        print("\(cluster)/\(host): \(r["from"]?.stringValue ?? "?") -> DRAIN")
        guard wait else { return }
        let c = try socket.client()
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let limitSec = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        while true {
            let hosts: HostsReply
            do {
                hosts = HostsReply(json: try c.request(#"{"id":2,"cmd":"hosts"}"#))
            } catch let e as CLIError {
                printError("error: \(e)")
                throw ExitCode(e.exitCode)
            }
            guard let h = hosts.host(cluster: cluster, address: host) else {
                printError("error: host \(host) is gone from cluster \(cluster)")
                throw ExitCode(1)
            }
            let d = h.drain ?? TelemetryFrame.Drain()
            if h.admin == "DRAINED" {
                // The time the host.drained event records; it follows within a drain-watcher tick.
                let took: UInt64?
                do {
                    took = try DrainWait.drainedElapsedMs(c, cluster: cluster, host: host, sinceMs: askedMs)
                } catch let e as CLIError {
                    printError("error: \(e)")
                    throw ExitCode(e.exitCode)
                }
                if let took {
                    print("DRAINED after \(DrainWait.text(ms: took)): safe to remove")
                    return
                }
            }
            if h.admin != "DRAIN" && h.admin != "DRAINED" {
                printError("error: \(cluster)/\(host) left DRAIN (now \(h.admin.isEmpty ? "?" : h.admin)) before it drained")
                throw ExitCode(1)
            }
            if h.admin == "DRAIN" { print("draining: active requests \(d.activeRq), active connections \(d.activeCx), idle \(d.idleCx), \(format1(Double(d.elapsedMs) / 1000)) s of \(format1(Double(d.timeoutMs) / 1000)) s") }
            fflush(nil)
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9 > limitSec {
                printError("timeout: \(cluster)/\(host) still has work after \(timeout)")
                throw ExitCode(2)
            }
            usleep(250_000)
        }
    }
}

struct CtlReady: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ready", abstract: "Put a host back in rotation.")
    @OptionGroup var socket: SocketOption
    @Argument(help: "Cluster name.") var cluster: String
    @Argument(help: "Host address as in the config.") var host: String

    func run() throws {
        let r = try setState(socket, cluster: cluster, host: host, state: "ready")
        print("\(cluster)/\(host): \(r["from"]?.stringValue ?? "?") -> READY")
    }
}

struct CtlMaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maint", abstract: "Maintenance: no traffic and no checks; existing sessions stay unless --kill.")
    @OptionGroup var socket: SocketOption
    @Argument(help: "Cluster name.") var cluster: String
    @Argument(help: "Host address as in the config.") var host: String
    @Flag(help: "Also close the host's existing connections.") var kill = false

    func run() throws {
        let r = try setState(socket, cluster: cluster, host: host, state: "maint", kill: kill)
        print("\(cluster)/\(host): \(r["from"]?.stringValue ?? "?") -> MAINT\(kill ? " (connections closed)" : "")")
    }
}
