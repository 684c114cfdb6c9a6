import Glibc
import SkiffEngine
import SkiffJSON
import SkiffTelemetry

/// Where request samples come from while the Requests view is shown: a reader of the engine's tap in-process, or a
/// second control-socket connection subscribed with `"stream":"requests"`.
protocol RequestLines: AnyObject {
    /// New samples since the last call, never blocking.
    func poll() -> [TelemetryRequestSample]
    func close()
}

/// Opens a request stream while the Requests view is shown and closes it when the view is left, so the daemon's tap
/// is watched only then. Console thread only.
final class RequestWatch {
    private var lines: (any RequestLines)?
    private var lastAttemptMs: UInt64 = 0

    func set(_ on: Bool, open: () -> ((any RequestLines), Int)?) {
        if !on {
            lines?.close()
            lines = nil
            return
        }
        guard lines == nil else { return }
        let now = monotonicMs()
        guard now - lastAttemptMs >= 1000 else { return }
        lastAttemptMs = now
        if let (l, _) = open() { lines = l }
    }

    /// Appends new samples to `out`.
    func poll(into out: inout [TelemetryLine]) {
        guard let l = lines else { return }
        for s in l.poll() { out.append(.request(s)) }
    }
}

/// In-process: a `RequestTapReader` on the engine's tap.
final class RequestTapLines: RequestLines {
    let reader: RequestTapReader
    init(_ reader: RequestTapReader) { self.reader = reader }

    func poll() -> [TelemetryRequestSample] {
        var out: [TelemetryRequestSample] = []
        reader.poll { bytes in
            if let v = try? JSONParser.parse(bytes) { out.append(TelemetryRequestSample(json: v)) }
        }
        return out
    }

    func close() { reader.close() }
}

/// Over the control socket: its own connection, subscribed to the request stream.
final class RequestSocketLines: RequestLines {
    let client: ControlClient
    let maxPerSecond: Int
    private var pending: [UInt8] = []

    init(path: String, answerTimeoutNs: UInt64) throws {
        client = try ControlClient(path: path, answerTimeoutNs: answerTimeoutNs)
        let reply = try client.request(#"{"id":1,"cmd":"subscribe","stream":"requests"}"#)
        maxPerSecond = reply["max_per_second"]?.int ?? 0
        _ = fcntl(client.fd, F_SETFL, fcntl(client.fd, F_GETFL) | O_NONBLOCK)
    }

    func poll() -> [TelemetryRequestSample] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(client.fd, $0.baseAddress!, 65536) }
            if n > 0 { pending += chunk[0..<n] } else { break }
        }
        var out: [TelemetryRequestSample] = []
        while let i = pending.firstIndex(of: 10) {
            let line = Array(pending[..<i])
            pending.removeFirst(i + 1)
            guard let v = try? JSONParser.parse(line), case .request(let s) = TelemetryLine(json: v) else { continue }
            out.append(s)
        }
        return out
    }

    func close() {}
}
