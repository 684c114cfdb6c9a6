import Glibc
import SkiffNet
import Synchronization

/// A bulk stream for transfer tests that need no copy of what was sent: a block of pseudo-random bytes of odd length
/// (not a multiple of any buffer, pipe or page size, so a lost, repeated or reordered piece shows) repeated for as
/// long as the stream is. `PatternCheck` compares what arrives with memcmp, block segment by segment.
public enum PatternStream {
    /// 1 MiB less three bytes.
    public static let block: [UInt8] = patternBytes(count: (1 << 20) - 3, seed: 0x5eed_5ca1ab1e)

    /// Sends the first `count` bytes of the stream on blocking `fd`; false when the socket failed first.
    public static func send(_ fd: Int32, count: Int) -> Bool {
        var sent = 0
        return block.withUnsafeBytes { b in
            while sent < count {
                let at = sent % b.count
                let n = Glibc.send(fd, b.baseAddress! + at, min(count - sent, b.count - at), Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }
}

/// Checks bytes arriving in order against `PatternStream`.
public struct PatternCheck: Sendable {
    /// Bytes seen so far.
    public private(set) var count = 0
    /// False from the first byte that differs from the stream.
    public private(set) var matches = true

    public init() {}

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var done = 0
        PatternStream.block.withUnsafeBytes { b in
            while done < bytes.count {
                let at = (count + done) % b.count
                let n = min(bytes.count - done, b.count - at)
                if matches && memcmp(bytes.baseAddress! + done, b.baseAddress! + at, n) != 0 { matches = false }
                done += n
            }
        }
        count += bytes.count
    }

    /// Reads blocking `fd` to EOF (or an error, then `error` is its errno) and checks everything read.
    public static func receive(_ fd: Int32) -> (check: PatternCheck, error: Int32) {
        var check = PatternCheck()
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 1 << 18, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = Glibc.recv(fd, buf, 1 << 18, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return (check, errno) }
            if n == 0 { return (check, 0) }
            check.feed(UnsafeRawBufferPointer(start: buf, count: n))
        }
    }
}

/// A blocking, thread-per-connection backend for bulk transfer tests. Each connection does the same, by `Mode`, and
/// what it received is recorded in `received` (one entry per finished connection).
public final class PatternServer: ThreadPerConnectionServer, @unchecked Sendable {
    public enum Mode: Sendable {
        /// Sends `bytes` of the stream then FIN, while reading and checking what comes until EOF (both at once).
        case both(bytes: Int)
        /// Reads and checks until EOF, and only then sends `bytes` of the stream and FIN.
        case replyAfterEOF(bytes: Int)
        /// Sends `bytes` of the stream and FIN first, then reads and checks until EOF.
        case sendFirst(bytes: Int)
        /// Reads `bytes` (at least), then closes with a reset (SO_LINGER 0); records nothing.
        case resetAfter(bytes: Int)
    }

    public let mode: Mode
    private let results = Mutex<[PatternCheck]>([])

    public init(mode: Mode) throws {
        self.mode = mode
        try super.init(name: "pattern", port: 0, connectionStackSize: 1 << 20)
    }

    /// What each finished connection received, in the order they finished.
    public var received: [PatternCheck] { results.withLock { $0 } }

    override func serve(_ fd: Int32) {
        switch mode {
        case .both(let bytes):
            let done = Atomic<Bool>(false)
            do {
                try NetThread.start(name: "pattern-send", stackSize: 1 << 20) {
                    if PatternStream.send(fd, count: bytes) { Glibc.shutdown(fd, Int32(SHUT_WR)) }
                    done.store(true, ordering: .releasing)
                }
            } catch { return }
            let (check, _) = PatternCheck.receive(fd)
            results.withLock { $0.append(check) }
            // The sender must be done with `fd` before `serve` returns and the number is closed.
            while !done.load(ordering: .acquiring) { usleep(1000) }
        case .replyAfterEOF(let bytes):
            let (check, _) = PatternCheck.receive(fd)
            results.withLock { $0.append(check) }
            if PatternStream.send(fd, count: bytes) { Glibc.shutdown(fd, Int32(SHUT_WR)) }
            var byte: UInt8 = 0
            _ = Glibc.recv(fd, &byte, 1, 0)  // the proxy's close
        case .sendFirst(let bytes):
            if PatternStream.send(fd, count: bytes) { Glibc.shutdown(fd, Int32(SHUT_WR)) }
            let (check, _) = PatternCheck.receive(fd)
            results.withLock { $0.append(check) }
        case .resetAfter(let bytes):
            let buf = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
            defer { buf.deallocate() }
            var got = 0
            while got < bytes {
                let n = Glibc.recv(fd, buf, 1 << 16, 0)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                got += n
            }
            var l = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        }
    }
}
