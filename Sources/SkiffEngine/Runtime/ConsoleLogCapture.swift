import Glibc
import Logging
import Synchronization

/// One log line held while a console owns the terminal.
public struct CapturedLogLine: Sendable, Equatable {
    /// Position in the capture, from 1; the console reads the lines after the last one it saw.
    public var seq: UInt64
    /// Wall clock, milliseconds since the epoch.
    public var ts: UInt64
    public var level: Logger.Level
    public var label: String
    public var message: String

    /// `2025-01-31T12:00:00+0000 info skiff: message`, as the stream handlers write it.
    public var text: String { "\(LogStamp.local(ts)) \(level) \(label): \(message)" }
}

/// Where log lines go while an in-process console (`skiff start --tui`, `skiff demo`) owns the terminal and no log
/// file was given: a bounded buffer in memory instead of stderr, since a line written under ncurses breaks the
/// screen. The console shows the buffer in its Events view; when the console closes, `endCapture` returns what was
/// logged meanwhile and the caller writes it to stderr. Outside a capture, lines go straight to the terminal.
///
/// Thread-safe: any thread logs; the console's thread reads.
public final class ConsoleLogCapture: Sendable {
    /// Lines kept: at least this many of the newest; older ones are dropped (and counted) a quarter at a time, so a
    /// log storm costs each logging thread amortised O(1) under the lock, not a shift of the whole buffer per line.
    public static let capacity = 2000
    /// The longest message kept whole (longer ones are cut, saying so).
    public static let maxMessageBytes = 4096

    private struct Held {
        var capturing = false
        var lines: [CapturedLogLine] = []
        var nextSeq: UInt64 = 1
        var dropped = 0
    }
    private let held = Mutex(Held())
    /// Where lines go outside a capture: 2 (stderr) or 1 (stdout).
    public let terminalFD: Int32

    public init(terminalFD: Int32 = 2) { self.terminalFD = terminalFD }

    /// From now on lines are held, not written.
    public func beginCapture() {
        held.withLock {
            $0.capturing = true
            $0.lines.removeAll()
            $0.dropped = 0
        }
    }

    /// Ends the capture; returns the lines held (oldest first) and how many older ones were dropped.
    public func endCapture() -> (lines: [CapturedLogLine], dropped: Int) {
        held.withLock { h in
            let out = (h.lines, h.dropped)
            h.capturing = false
            h.lines.removeAll()
            h.dropped = 0
            return out
        }
    }

    /// Lines held after `seq` (for the console's Events view).
    public func lines(after seq: UInt64) -> [CapturedLogLine] {
        held.withLock { h in
            guard let first = h.lines.first, seq + 1 >= first.seq else { return h.lines }
            return Array(h.lines.dropFirst(Int(seq + 1 - first.seq)))
        }
    }

    /// Holds the line during a capture; writes it to the terminal otherwise.
    func log(level: Logger.Level, label: String, message: String) {
        let ts = Self.wallMillis()
        let line: CapturedLogLine? = held.withLock { h in
            let line = CapturedLogLine(seq: h.nextSeq, ts: ts, level: level, label: label, message: message)
            h.nextSeq += 1
            guard h.capturing else { return line }
            var held = line
            if message.utf8.count > Self.maxMessageBytes {
                held.message = String(decoding: message.utf8.prefix(Self.maxMessageBytes), as: UTF8.self) + " [cut]"
            }
            h.lines.append(held)
            if h.lines.count > Self.capacity + Self.capacity / 4 {
                let over = h.lines.count - Self.capacity
                h.lines.removeFirst(over)
                h.dropped += over
            }
            return nil
        }
        if let line { Self.write(line.text, to: terminalFD) }
    }

    /// Writes `text` and a newline to `fd` in one call.
    public static func write(_ text: String, to fd: Int32) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, bytes.count) }
    }

    static func wallMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
    }
}

/// The local-time stamp of a log line: `2025-01-31T12:00:00+0000`.
enum LogStamp {
    static func local(_ wallMs: UInt64) -> String {
        var t = time_t(wallMs / 1000)
        var tm = tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, 32, "%Y-%m-%dT%H:%M:%S%z", &tm)
        return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
