import SkiffSystem

/// Bytes waiting to go to one client, sent with non-blocking writes. Owned by one client thread.
///
/// The server compares `count` with the client's bound after each flush: a subscriber that stops reading grows this
/// buffer, never the engine's, and is dropped once it passes the bound.
struct OutgoingBuffer {
    private var bytes: [UInt8] = []
    private var start = 0

    enum FlushResult: Equatable {
        /// Everything was sent.
        case drained
        /// The socket is full; the rest waits.
        case blocked
        /// The peer is gone (EPIPE, ECONNRESET, ...).
        case failed
    }

    /// Bytes not yet sent.
    var count: Int { bytes.count - start }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ more: [UInt8]) { bytes.append(contentsOf: more) }
    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    /// Sends as much as the socket takes without waiting.
    mutating func flush(to fd: Int32) -> FlushResult {
        var result = FlushResult.drained
        while start < bytes.count {
            let r = bytes.withUnsafeBytes { raw in
                SocketIO.send(fd, UnsafeRawBufferPointer(rebasing: raw[start...]), blocking: false)
            }
            switch r {
            case .done(let n): start += n
            case .wouldBlock: result = .blocked
            case .error: result = .failed
            }
            if result != .drained { break }
        }
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 20)
            start = 0
        } else if start > 1 << 16 && start >= bytes.count / 2 {
            bytes.removeSubrange(0..<start)
            start = 0
        }
        return result
    }
}
