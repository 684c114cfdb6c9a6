import ArgumentParser
import SkiffJSON

/// `skiff ctl xds`: the control plane connection and, per resource type, the accepted version, how many resources,
/// and the last ACK or NACK with its error.
struct CtlXDS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xds", abstract: "The control plane (xDS): connection, versions, last ACK or NACK per type.")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Print the raw JSON reply.") var json = false

    func run() throws {
        try runRequest(socket, #"{"id":1,"cmd":"xds"}"#, json: json) { reply in
            let x = reply["xds"] ?? .null
            let connected = x["connected"]?.boolValue ?? false
            let since = x["since_ms"]?.uint ?? 0
            let plane = x["control_plane"]?.stringValue ?? "?"
            let when = since == 0 ? "never connected" : "since \(clockTime(since))"
            print(
                "control plane \(plane): \(connected ? "connected" : "disconnected") \(when)"
                    + " (\(x["connects"]?.int ?? 0) streams opened)")
            if !connected, let why = x["last_disconnect"]?.stringValue, !why.isEmpty {
                print("last failure: \(why) (\(x["failures"]?.int ?? 0) in a row; retrying with back-off)")
            }
            let updates = max(1, x["updates"]?.int ?? 0)
            print(
                "updates: \(x["updates"]?.int ?? 0) (CPU per update: last \(x["last_update_cpu_us"]?.int ?? 0) µs, mean "
                    + "\((x["total_update_cpu_us"]?.int ?? 0) / updates) µs, max \(x["max_update_cpu_us"]?.int ?? 0) µs); "
                    + "snapshots applied: \(x["applied"]?.int ?? 0)")
            var rows: [[String]] = []
            for t in x["types"]?.arrayValue ?? [] {
                let last = t["last"]?.stringValue ?? ""
                let at = t["last_at_ms"]?.uint ?? 0
                rows.append([
                    t["type"]?.stringValue ?? "?", t["version"]?.stringValue ?? "",
                    "\(t["resources"]?.int ?? 0)", "\(t["pushes"]?.int ?? 0)", "\(t["acks"]?.int ?? 0)",
                    "\(t["nacks"]?.int ?? 0)",
                    last.isEmpty ? "-" : "\(last.uppercased()) \(t["last_version"]?.stringValue ?? "") at \(clockTime(at))",
                ])
            }
            printTable(["TYPE", "VERSION", "RESOURCES", "PUSHES", "ACKS", "NACKS", "LAST"], rows)
            for t in x["types"]?.arrayValue ?? [] {
                if let e = t["last_error"]?.stringValue, !e.isEmpty {
                    print("\(t["type"]?.stringValue ?? "?") last NACK: \(e)")
                }
            }
            if case .object(let waiting)? = x["waiting"], !waiting.isEmpty {
                for w in waiting { print("listener \(w.key) waits for \(w.value.stringValue ?? "")") }
            }
        }
    }
}
