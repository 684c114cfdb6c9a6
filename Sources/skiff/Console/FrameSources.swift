import CSkiffLinux
import Glibc
import SkiffConsole
import SkiffControl
import SkiffEngine
import SkiffJSON
import SkiffTelemetry

/// Where the console gets frames and events, and how it changes host states: the rings in-process
/// (`skiff start --tui`, `skiff demo`), or the control socket (`skiff top`). One interface, one console.
protocol FrameSource: AnyObject {
    /// New frames and events since the last call (decoded), never blocking for long.
    func poll() -> [TelemetryLine]
    /// Sets a host's admin state; returns a status line for the console.
    func setHostState(cluster: String, host: String, state: String) -> String
    /// MAINT closing the host's connections (`kill`), and weights: FrameSources+HostActions.swift.
    func setHostState(cluster: String, host: String, state: String, kill: Bool) -> String
    func setHostWeight(cluster: String, host: String, weight: Int) -> String
    /// Nil while attached; a message while the source is gone and retrying.
    var problem: String? { get }
    /// Asks for frames every `ms` milliseconds for this console (`+`/`-`); the header shows what really arrives.
    func askInterval(ms: Int)
    /// Watch the live request tap while `on` (the Requests view is shown); its samples come from `poll` as
    /// `.request` lines. Nobody watching costs the daemon nothing.
    func watchRequests(_ on: Bool)
}

/// Reads the engine's rings directly.
final class InProcessSource: FrameSource {
    let engine: Engine
    let control: EngineControl
    var frameCursor: UInt64
    var eventCursor: UInt64
    var buf: [UInt8] = []
    /// Log lines held while the console owns the terminal (`--tui` without a log file), shown as `log` events.
    let logs: ConsoleLogCapture?
    var logCursor: UInt64 = 0

    init(engine: Engine, control: EngineControl, logs: ConsoleLogCapture? = nil) {
        self.engine = engine
        self.control = control
        self.logs = logs
        frameCursor = engine.hub.frames.latestSeq > 0 ? engine.hub.frames.latestSeq - 1 : 0
        let e = engine.hub.events.latestSeq
        eventCursor = e > 200 ? e - 200 : 0
    }

    var problem: String? { nil }
    /// This console's ask to the publisher, and which frames it takes (`+`/`-`).
    var askID: UInt64?
    var pacer: FramePacer?

    deinit { if let id = askID { engine.publisher.asks.withdraw(id) } }

    func askInterval(ms: Int) {
        askID = engine.publisher.asks.ask(ms, id: askID)
        if pacer == nil { pacer = FramePacer(intervalMs: ms) } else { pacer!.intervalMs = ms }
    }

    let requestTap = RequestWatch()

    func watchRequests(_ on: Bool) {
        requestTap.set(on, open: { [engine] in (RequestTapLines(engine.hub.requests.watch()), engine.hub.requests.maxPerSecond) })
    }

    func poll() -> [TelemetryLine] {
        var out: [TelemetryLine] = []
        while case .frame(let seq, _) = engine.hub.events.read(after: eventCursor, into: &buf) {
            eventCursor = seq
            if let v = parsed(buf, ring: "event") { out.append(.event(TelemetryEvent(json: v))) }
        }
        while case .frame(let seq, _) = engine.hub.frames.read(after: frameCursor, into: &buf) {
            frameCursor = seq
            guard let record = pacer == nil ? buf : pacer!.pass(buf) else { continue }
            if let v = parsed(record, ring: "frame") { out.append(.frame(TelemetryFrame(json: v))) }
        }
        for line in logs?.lines(after: logCursor) ?? [] {
            logCursor = line.seq
            out.append(.event(ConsoleLogEvent.event(ts: line.ts, level: "\(line.level)", label: line.label, message: line.message)))
        }
        requestTap.poll(into: &out)
        return out
    }

    /// A record of the engine's own rings; one that does not parse is a bug, recorded (not silently skipped).
    private func parsed(_ record: [UInt8], ring: String) -> JSONValue? {
        do {
            return try JSONParser.parse(record)
        } catch {
            engine.errors.record("console: a record of the \(ring) ring is not JSON", error)
            return nil
        }
    }

    func setHostState(cluster: String, host: String, state: String) -> String {
        switch control.setHostState(cluster: cluster, host: host, state: state, uid: getuid(), via: "console") {
        case .ok: return "\(cluster)/\(host) -> \(state.uppercased())"
        case .error(let e): return "error: \(e)"
        }
    }
}

/// Subscribes over the control socket; reconnects when the daemon goes away.
final class SocketSource: FrameSource {
    let path: String
    var stream: ControlClient?
    var pending: [UInt8] = []
    var problem: String?
    var lastAttempt: UInt64 = 0

    let answerTimeoutNs: UInt64
    /// The interval this console asked for (sent again on every reconnect).
    var intervalMs: Int?
    let requestTap = RequestWatch()

    func watchRequests(_ on: Bool) {
        requestTap.set(on, open: { [path, answerTimeoutNs] in
            guard let s = try? RequestSocketLines(path: path, answerTimeoutNs: answerTimeoutNs) else { return nil }
            return (s, s.maxPerSecond)
        })
    }

    init(path: String, answerTimeoutNs: UInt64 = defaultAnswerTimeoutNs) {
        self.path = path
        self.answerTimeoutNs = answerTimeoutNs
        reconnect()
    }

    private func reconnect() {
        lastAttempt = nowNs()
        do {
            let c = try ControlClient(path: path, answerTimeoutNs: answerTimeoutNs)
            try c.send(intervalMs.map { #"{"id":1,"cmd":"subscribe","interval_ms":\#($0)}"# } ?? #"{"id":1,"cmd":"subscribe"}"#)
            let flags = fcntl(c.fd, F_GETFL)
            _ = fcntl(c.fd, F_SETFL, flags | O_NONBLOCK)
            stream = c
            pending.removeAll()
            problem = nil
        } catch {
            stream = nil
            // What `skiff ctl` says ("cannot reach skiff at PATH: No such file or directory ...").
            problem = "\(error)"
        }
    }

    func askInterval(ms: Int) {
        intervalMs = ms
        guard let c = stream else { return }  // asked again on reconnect
        do {
            try c.send(#"{"id":3,"cmd":"subscribe.interval","interval_ms":\#(ms)}"#)
        } catch {
            stream = nil
            problem = "lost skiff at \(path): \(error)"
        }
    }

    private func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    func poll() -> [TelemetryLine] {
        guard let c = stream else {
            if nowNs() - lastAttempt > 1_000_000_000 { reconnect() }
            return []
        }
        var chunk = [UInt8](repeating: 0, count: 262_144)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(c.fd, $0.baseAddress!, 262_144) }
            if n > 0 {
                pending += chunk[0..<n]
                continue
            }
            if n == 0 || (errno != EAGAIN && errno != EINTR) {
                let why = n == 0 ? "it closed the connection" : String(cString: strerror(errno))
                stream = nil
                problem = "lost skiff at \(path): \(why)"
            }
            break
        }
        var out: [TelemetryLine] = []
        while let i = pending.firstIndex(of: 10) {
            let line = Array(pending[..<i])
            pending.removeFirst(i + 1)
            // Replies to our own requests (no `type`) are `.other`: skipped.
            guard let v = try? JSONParser.parse(line) else { continue }
            let decoded = TelemetryLine(json: v)
            if case .other = decoded { continue }
            out.append(decoded)
        }
        requestTap.poll(into: &out)
        return out
    }

    func setHostState(cluster: String, host: String, state: String) -> String {
        do {
            let c = try ControlClient(path: path, answerTimeoutNs: answerTimeoutNs)
            _ = try c.request(
                "{\"id\":2,\"cmd\":\"host.set_state\",\"cluster\":\(quoted(cluster)),\"host\":\(quoted(host)),\"state\":\(quoted(state))}")
            return "\(cluster)/\(host) -> \(state.uppercased())"
        } catch {
            return "error: \(error)"
        }
    }
}
