import SkiffJSON
import SkiffSystem

extension ControlServer {
    /// What to do with one request line.
    enum Outcome: Equatable {
        /// Send this line (no newline).
        case reply([UInt8])
        /// A reply line with descriptors attached, sent in one sendmsg.
        case replyWithDescriptors([UInt8], [Int32])
        /// Start streaming: send the `subscribed` reply, then the subscription's lines.
        case subscribe(id: ControlRequestID, since: UInt64?, intervalMs: Int?)
        /// Pace this connection's subscription (`subscribe.interval`).
        case setInterval(id: ControlRequestID, ms: Int)
        /// Start streaming request samples (`subscribe` with `"stream":"requests"`).
        case subscribeRequests(id: ControlRequestID)
    }

    /// Checks a request line and, when it passes, asks the backend. No I/O; called on the client's thread.
    ///
    /// Order of checks: JSON, object, `id`, `cmd`, known command, permission, arguments. Permission comes before
    /// arguments so a peer that may not mutate learns nothing about what would have been valid.
    func dispatch(line: [UInt8], peer: PeerCredentials) -> Outcome {
        counters.request()
        let request: ControlRequest
        switch ControlRequest.parse(line: line) {
        case .failure(let rejection): return fail(rejection.id, rejection.message)
        case .success(let r): request = r
        }
        let table = commandTable.withLock { $0 }
        let mutating = table.mutating.contains(request.cmd)
        guard table.all.contains(request.cmd) || mutating else {
            return fail(request.id, "unknown command \(jsonQuoted(request.cmd))")
        }
        if mutating && peer.uid != 0 && peer.uid != configuration.ownerUID {
            counters.denied()
            return fail(request.id, "permission denied")
        }
        if let problem = argumentProblem(request) {
            return fail(request.id, problem)
        }
        if request.cmd == "subscribe" {
            if request.string("stream") == "requests" { return .subscribeRequests(id: request.id) }
            return .subscribe(id: request.id, since: request.uint64("since"), intervalMs: request.int("interval_ms"))
        }
        if request.cmd == "subscribe.interval" {
            // `argumentProblem` refused anything but an integer in range; checked again rather than trusted.
            guard let ms = request.int("interval_ms") else { return fail(request.id, "missing argument \"interval_ms\"") }
            return .setInterval(id: request.id, ms: ms)
        }
        if let (result, fds) = backend.handleWithDescriptors(request, peer: peer) {
            let (reply, ok) = ControlReply.encode(id: request.id, result: result)
            if !ok { counters.error() }
            if !ok { for fd in fds { SocketIO.close(fd) } }
            return ok ? .replyWithDescriptors(reply, fds) : .reply(reply)
        }
        let (reply, ok) = ControlReply.encode(id: request.id, result: backend.handle(request, peer: peer))
        if !ok { counters.error() }
        return .reply(reply)
    }

    func fail(_ id: ControlRequestID, _ message: String) -> Outcome {
        counters.error()
        return .reply(ControlReply.error(id: id, message))
    }

    /// The server's own checks of the standard commands' arguments, so every engine gets the same messages.
    func argumentProblem(_ request: ControlRequest) -> String? {
        switch request.cmd {
        case "subscribe":
            if let stream = request.value("stream"), stream != .null,
                request.string("stream") != "telemetry" && request.string("stream") != "requests"
            {
                return "stream must be \"telemetry\" or \"requests\", got \(stream.kindDescription)"
            }
            if let since = request.value("since"), since != .null, request.uint64("since") == nil {
                return "since must be a non-negative integer (a sequence number), got \(since.kindDescription)"
            }
            if let problem = integerProblem(request, "interval_ms", ControlServer.subscribeIntervalRange) {
                return problem
            }
        case "subscribe.interval":
            // A null is no value: missing, like an absent member (never a default).
            guard let v = request.value("interval_ms"), v != .null else { return "missing argument \"interval_ms\"" }
            if let problem = integerProblem(request, "interval_ms", ControlServer.subscribeIntervalRange) {
                return problem
            }
        case "events":
            if let problem = integerProblem(request, "limit", ControlServer.eventLimitRange) { return problem }
            if let since = request.value("since"), since != .null, request.uint64("since") == nil {
                return "since must be a non-negative integer (a sequence number), got \(since.kindDescription)"
            }
            if let kind = request.value("kind"), kind != .null, request.string("kind") == nil {
                return "kind must be a string (an event kind or its prefix), got \(kind.kindDescription)"
            }
        case "stop":
            if let problem = booleanProblem(request, "now") { return problem }
        case "host.set_state":
            if let problem = booleanProblem(request, "kill") { return problem }
            for key in ["cluster", "host", "state"] {
                guard let value = request.value(key) else { return "missing argument \(jsonQuoted(key))" }
                guard case .string(let s) = value, !s.isEmpty else {
                    return "\(key) must be a non-empty string, got \(value.kindDescription)"
                }
            }
            let state = request.string("state")!
            if !ControlServer.hostStates.contains(state) {
                return "state must be one of ready, drain, maint; got \(jsonQuoted(state))"
            }
        case "host.set_weight":
            for key in ["cluster", "host"] {
                guard let value = request.value(key) else { return "missing argument \(jsonQuoted(key))" }
                guard case .string(let s) = value, !s.isEmpty else {
                    return "\(key) must be a non-empty string, got \(value.kindDescription)"
                }
            }
            guard request.value("weight") != nil else { return "missing argument \"weight\"" }
            if let problem = integerProblem(request, "weight", ControlServer.hostWeights) { return problem }
        default:
            break
        }
        return nil
    }
}

extension ControlServer {
    /// `limit` of `events`: how many events one answer may carry (the event ring holds about this many at most).
    public static let eventLimitRange: ClosedRange<Int> = 1...100_000
    /// `interval_ms` of `subscribe` and `subscribe.interval`: how often a paced subscriber gets a frame.
    public static let subscribeIntervalRange: ClosedRange<Int> = 50...60_000

    /// An optional integer argument outside `range` (or not an integer): the message, else nil.
    func integerProblem(_ request: ControlRequest, _ key: String, _ range: ClosedRange<Int>) -> String? {
        guard let value = request.value(key), value != .null else { return nil }
        if let n = request.int(key), range.contains(n) { return nil }
        return "\(key) must be an integer from \(range.lowerBound) to \(range.upperBound), got \(value.kindDescription)"
    }

    /// An optional argument that must be true or false.
    func booleanProblem(_ request: ControlRequest, _ key: String) -> String? {
        guard let value = request.value(key), value != .null, request.bool(key) == nil else { return nil }
        return "\(key) must be true or false, got \(value.kindDescription)"
    }
}

/// `"text"` as JSON would write it, for messages.
func jsonQuoted(_ s: String) -> String {
    var out: [UInt8] = []
    JSONWriter.appendString(s, to: &out)
    return String(decoding: out, as: UTF8.self)
}
