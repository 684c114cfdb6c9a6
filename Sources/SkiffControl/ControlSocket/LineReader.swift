/// Splits a byte stream into newline-terminated lines with a length limit. Pure: no I/O, tested on its own.
///
/// A trailing `\r` is dropped (so `nc -C` and CRLF clients work). Blank lines are skipped. A line longer than
/// `limit` bytes (newline excluded) yields `.tooLong` as soon as that is certain, without waiting for its end; after
/// that the reader yields nothing more, because the connection is closed.
/// Owned by one client thread.
struct LineReader {
    enum Event: Equatable {
        case line([UInt8])
        case tooLong
    }

    let limit: Int
    private var buffer: [UInt8] = []
    /// Start of the unconsumed bytes in `buffer`.
    private var start = 0
    /// Bytes before this index (from `start`) are known to hold no newline.
    private var scanned = 0
    private var poisoned = false

    init(limit: Int) { self.limit = limit }

    /// Bytes held for a line not yet complete.
    var pendingCount: Int { buffer.count - start }

    mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard !poisoned else { return }
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            scanned -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete line, `.tooLong`, or nil when more bytes are needed.
    mutating func next() -> Event? {
        while !poisoned {
            var i = max(scanned, start)
            while i < buffer.count, buffer[i] != 0x0A { i += 1 }
            if i == buffer.count {
                scanned = i
                if buffer.count - start > limit {
                    poisoned = true
                    return .tooLong
                }
                return nil
            }
            var line = Array(buffer[start..<i])
            start = i + 1
            scanned = start
            if line.last == 0x0D { line.removeLast() }
            if line.count > limit {
                poisoned = true
                return .tooLong
            }
            if line.allSatisfy(ControlReply.isSpace) { continue }
            return .line(line)
        }
        return nil
    }

    /// At end of stream: the last line if it had no newline (`printf '{"cmd":"hosts"}' | socat ...`).
    mutating func finish() -> Event? {
        guard !poisoned, start < buffer.count else { return nil }
        var line = Array(buffer[start...])
        start = buffer.count
        if line.last == 0x0D { line.removeLast() }
        if line.count > limit {
            poisoned = true
            return .tooLong
        }
        return line.allSatisfy(ControlReply.isSpace) ? nil : .line(line)
    }
}
