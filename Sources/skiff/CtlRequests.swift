import ArgumentParser
import Glibc
import SkiffConfig
import SkiffJSON
import SkiffTelemetry

/// `skiff ctl requests`: the live request tap for scripts, one line per finished request (or its JSON), from the
/// moment it starts watching. The daemon samples only while someone watches, at most a budget per second per
/// executor; each line says how many requests went unsampled before it.
struct CtlRequests: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "Watch requests live: time, method, authority, path (or RPC service), status, upstream, latency, bytes, flags.")
    @OptionGroup var socket: SocketOption
    @Option(help: "Stop after this many requests (0 = no limit).") var count = 0
    @Option(name: .customLong("for"), help: "Stop after this long (e.g. 10s; default: until interrupted or --count).")
    var duration: String?
    @Flag(help: "Print each request as its JSON line.") var json = false

    func run() throws {
        guard count >= 0 else {
            printError("error: --count: must be 0 (no limit) or more, got \(count)")
            throw ExitCode(1)
        }
        var endNs = UInt64.max
        if let d = duration {
            guard let v = DurationText.parse(d), v > .zero else {
                printError("error: --for: expected a duration such as 10s or 500ms, got \"\(d)\"")
                throw ExitCode(1)
            }
            let c = v.components
            endNs = ControlClient.monotonicNs() + UInt64(c.seconds) * 1_000_000_000 + UInt64(c.attoseconds / 1_000_000_000)
        }
        let c = try socket.client()
        do {
            let reply = try c.request(#"{"id":1,"cmd":"subscribe","stream":"requests"}"#)
            printError("watching requests (at most \(reply["max_per_second"]?.int ?? 0)/s per executor)")
            if !json { print(Self.header) }
            fflush(nil)
            var printed = 0
            while count == 0 || printed < count {
                let now = ControlClient.monotonicNs()
                if now >= endNs { return }
                let line: [UInt8]?
                do {
                    line = try c.readLine(deadlineNs: min(endNs, now + 60_000_000_000))
                } catch let e as CLIError where e.exitCode == 2 {
                    continue  // no request in that while: keep watching until --for or --count
                }
                guard let line else { throw CLIError("skiff closed the control connection") }
                guard let v = try? JSONParser.parse(line) else { continue }
                switch TelemetryLine(json: v) {
                case .request(let s):
                    print(json ? String(decoding: line, as: UTF8.self) : Self.text(s))
                    printed += 1
                case .gap(let g):
                    printError("(\(g.missed) requests lost: this reader fell behind)")
                default:
                    continue
                }
                fflush(nil)
            }
        } catch let e as CLIError {
            printError("error: \(e)")
            throw ExitCode(e.exitCode)
        }
    }

    static let header = "TIME          METHOD  AUTHORITY            PATH/SERVICE                     STATUS  UPSTREAM              LATENCY  IN  OUT  FLAGS  SKIPPED"

    /// One request as a line of text, columns separated by spaces.
    static func text(_ s: TelemetryRequestSample) -> String {
        func pad(_ t: String, _ n: Int) -> String { t.count >= n ? t : t + String(repeating: " ", count: n - t.count) }
        let status = s.status == 0 && s.proto == "http1" ? "-" : "\(s.status)"
        let authority = s.proto == "http1" ? s.authority : s.proto
        return [
            pad(clockTime(s.ts), 13), pad(s.method.isEmpty ? "-" : s.method, 7), pad(authority.isEmpty ? "-" : authority, 20),
            pad(s.target.isEmpty ? "-" : s.target, 32), pad(status, 7), pad(s.host.isEmpty ? "-" : s.host, 21),
            pad(Humanize.duration(ns: s.latencyUs &* 1000), 8), Humanize.bytes(s.bytesIn), Humanize.bytes(s.bytesOut),
            s.flags.isEmpty ? "-" : s.flags, "\(s.skipped)",
        ].joined(separator: " ") + (s.reason.isEmpty ? "" : "  (\(s.reason))")
    }
}
