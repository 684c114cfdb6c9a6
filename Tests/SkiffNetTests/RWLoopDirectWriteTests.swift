import Glibc
import SkiffTestSupport
import Synchronization
import Testing

@testable import SkiffNet

/// A listening socket whose one accepted connection the test reads only when it chooses: a peer that stops
/// reading, then catches up. Small buffers, so back-pressure comes after a few hundred KiB.
final class HeldPeer: @unchecked Sendable {
    let listenFD: Int32
    let port: Int

    init(receiveBuffer: Int32 = 16 * 1024) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rcv = receiveBuffer
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, socklen_t(MemoryLayout<Int32>.size))
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(fd, p, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        guard bound else {
            Glibc.close(fd)
            throw TestError("cannot listen", errno: errno)
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: a.sin_port))
    }

    /// The next connection (blocking; the connect has been started).
    func accept() throws -> TestSocket {
        let fd = Glibc.accept(listenFD, nil, nil)
        guard fd >= 0 else { throw TestError("accept", errno: errno) }
        let s = TestSocket(fd: fd)
        s.setTimeout(seconds: 20)
        return s
    }

    func close() { Glibc.close(listenFD) }
}

/// An outbound connection's handler that records writability changes in order and counts closes.
final class WritabilityRecorder: ConnectionHandler, @unchecked Sendable {
    let changes = Mutex<[Bool]>([])
    let connected = Atomic<Bool>(false)
    let closes = Atomic<Int>(0)
    let closeReason = Mutex<CloseReason?>(nil)

    func connection(_ c: Connection, didRead buffer: ByteBuffer) { buffer.release() }
    func connectionDidReadEOF(_ c: Connection) {}
    func connectionDidConnect(_ c: Connection) { connected.store(true, ordering: .relaxed) }
    func connection(_ c: Connection, writabilityChanged writable: Bool) { changes.withLock { $0.append(writable) } }
    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        closeReason.withLock { $0 = reason }
        closes.wrappingAdd(1, ordering: .relaxed)
    }
    var isConnected: Bool { connected.load(ordering: .relaxed) }
}

/// A self-checking frame: writer id, sequence number, payload length, and a payload derived from all three, so a
/// reader can tell a lost, repeated, reordered or interleaved byte.
enum TaggedFrame {
    static let headerBytes = 7

    static func make(writer: UInt8, seq: UInt32, length: Int) -> [UInt8] {
        var f: [UInt8] = [writer]
        withUnsafeBytes(of: seq.littleEndian) { f += $0 }
        withUnsafeBytes(of: UInt16(length).littleEndian) { f += $0 }
        for i in 0..<length { f.append(UInt8(truncatingIfNeeded: Int(writer) &* 31 &+ Int(seq) &+ i)) }
        return f
    }

    /// Checks `stream` frame by frame: each writer's sequence numbers must run 0, 1, 2... and every payload match.
    /// Returns the frames seen per writer, or a description of the first fault.
    static func verify(_ stream: [UInt8], writers: Int) -> Result<[Int], TestError> {
        var next = [UInt32](repeating: 0, count: writers)
        var at = 0
        while at < stream.count {
            guard at + headerBytes <= stream.count else { return .failure(TestError("cut header at \(at)")) }
            let w = Int(stream[at])
            let seq = UInt32(stream[at + 1]) | UInt32(stream[at + 2]) << 8 | UInt32(stream[at + 3]) << 16
                | UInt32(stream[at + 4]) << 24
            let len = Int(stream[at + 5]) | Int(stream[at + 6]) << 8
            guard w < writers, seq == next[w] else {
                return .failure(TestError("at \(at): writer \(w) seq \(seq), expected \(w < writers ? next[w] : 0)"))
            }
            guard at + headerBytes + len <= stream.count,
                stream[(at + headerBytes)..<(at + headerBytes + len)].elementsEqual(
                    make(writer: UInt8(w), seq: seq, length: len)[headerBytes...])
            else { return .failure(TestError("at \(at): payload of writer \(w) seq \(seq) damaged")) }
            next[w] += 1
            at += headerBytes + len
        }
        return .success(next.map(Int.init))
    }
}

/// rwloop's direct writes (Connection+DirectWrite.swift): the writing thread writes while the queue is empty, the
/// writer thread starts only under back-pressure and hands the queue back once drained; bytes stay exact and in
/// order, counters stay right, and a close never pulls the fd from under a write.
@Suite struct RWLoopDirectWriteTests {
    /// Request/response traffic that never fills the socket: every write is one direct writev from the caller, and
    /// the connection never gets a writer thread.
    @Test func writesGoOutDirectlyWithoutAWriterThread() throws {
        let server = try EchoServer(mode: .echo)
        defer { server.stop() }
        let g = RWLoopGroup(name: "dw")
        let rec = RecordingHandler()
        let c = g.connect(
            to: SocketAddress(ip: "127.0.0.1", port: server.port)!, timeout: .seconds(2), options: ConnectionOptions(),
            label: "t", handler: rec)
        #expect(waitUntil { rec.isConnected })
        var sent = 0
        for i in 0..<20 {
            let msg = Array("message \(i);".utf8)
            c.write(ByteBuffer(copying: msg))
            sent += msg.count
            #expect(waitUntil { rec.received.withLock { $0.count } == sent })
        }
        let st = c.stats.snapshot
        #expect(st.writevCalls == 20 && st.buffersQueued == 20 && st.perWritev == [20, 0, 0, 0, 0])
        #expect(st.bytesWritten == UInt64(sent) && st.partialWrites == 0 && st.eagain == 0)
        #expect(c.rwThreads!.writerTid.load(ordering: .relaxed) == 0, "a writer thread started")
        #expect(g.writers.load(ordering: .relaxed) == 0)
        #expect(c.lock.withLock { c.rwWrite.flusher } == .none)
        c.close()
        #expect(waitUntil { rec.closeReason.withLock { $0 } == .local })
        #expect(waitUntil { g.readers.load(ordering: .relaxed) == 0 })
    }

    /// Four threads write tagged frames at once (single buffers, copies, and two-buffer batches) to a peer that
    /// does not read: the socket fills, the writer thread takes over; then the peer reads everything. Every frame
    /// arrives whole, each writer's in its order; the counters add up; once drained, writes go direct again.
    @Test func concurrentWritersAndASlowReaderKeepEveryByteInOrder() throws {
        let peer = try HeldPeer()
        defer { peer.close() }
        let g = RWLoopGroup(name: "dw")
        let rec = WritabilityRecorder()
        let c = g.connect(
            to: SocketAddress(ip: "127.0.0.1", port: peer.port)!, timeout: .seconds(2),
            options: ConnectionOptions(writeLimit: 256 * 1024), label: "t", handler: rec)
        let s = try peer.accept()
        defer { s.close() }
        #expect(waitUntil { rec.isConnected })
        var small: Int32 = 16 * 1024
        setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))

        let writers = 4
        let framesEach = 1500
        let expected = Atomic<Int>(0)
        let buffers = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        for w in 0..<writers {
            try NetThread.start(name: "dw-writer", stackSize: 1 << 20) {
                var bytes = 0
                var bufs = 0
                for seq in 0..<framesEach {
                    let length = 50 + (seq * 37 + w * 11) % 1900
                    let f = TaggedFrame.make(writer: UInt8(w), seq: UInt32(seq), length: length)
                    switch seq % 3 {
                    case 0:
                        c.write(ByteBuffer(copying: f))
                        bufs += 1
                    case 1:
                        // A copy may share the previous copy's buffer: not counted in `bufs`.
                        f.withUnsafeBytes { c.write(copying: $0) }
                    default:
                        let cut = f.count / 2
                        let halves = [ByteBuffer(copying: Array(f[..<cut])), ByteBuffer(copying: Array(f[cut...]))]
                        c.write(contentsOf: halves)
                        bufs += 2
                    }
                    bytes += f.count
                }
                expected.wrappingAdd(bytes, ordering: .relaxed)
                buffers.wrappingAdd(bufs, ordering: .relaxed)
                done.wrappingAdd(1, ordering: .relaxed)
            }
        }
        #expect(waitUntil(seconds: 30) { done.load(ordering: .relaxed) == writers })
        // Nobody reads yet: the socket is full and the writer thread holds the rest.
        #expect(waitUntil { c.rwThreads!.writerTid.load(ordering: .relaxed) != 0 }, "no writer thread started")
        #expect(rec.changes.withLock { $0.first } == false, "the queue crossed its limit: writability false first")
        let total = expected.load(ordering: .relaxed)
        let stream = try s.receive(exactly: total)
        switch TaggedFrame.verify(stream, writers: writers) {
        case .success(let counts): #expect(counts == [Int](repeating: framesEach, count: writers))
        case .failure(let e): Issue.record("stream damaged: \(e)")
        }
        #expect(waitUntil { c.lock.withLock { c.rwWrite.flusher } == .none }, "the writer kept the queue")
        #expect(rec.changes.withLock { $0.last } == true, "writability came back once drained")
        let st = c.stats.snapshot
        #expect(st.bytesWritten == UInt64(total))
        // The writer took over either at an EAGAIN or because the others kept appending behind a direct writer;
        // its blocking sends are whole, so partial writes and EAGAINs may both be 0. The queue did hold a backlog.
        #expect(st.peakQueueDepth > 16)
        #expect(st.writevCalls == st.perWritev.reduce(0, +))
        // Copies may share a buffer, so the queue counts at least the single and batched buffers.
        #expect(st.buffersQueued >= UInt64(buffers.load(ordering: .relaxed)))
        #expect(c.queuedBytes == 0)

        // Recovered: the next write is direct again (token taken and put down by the caller).
        let before = c.stats.snapshot.writevCalls
        c.write(ByteBuffer(copying: TaggedFrame.make(writer: 0, seq: UInt32(framesEach), length: 10)))
        #expect(c.lock.withLock { c.rwWrite.flusher } == .none)
        #expect(c.stats.snapshot.writevCalls == before + 1)
        #expect(try s.receive(exactly: TaggedFrame.headerBytes + 10).first == 0)
        c.close()
        #expect(waitUntil { rec.closes.load(ordering: .relaxed) == 1 })
        #expect(waitUntil { g.readers.load(ordering: .relaxed) == 0 && g.writers.load(ordering: .relaxed) == 0 })
    }

    /// A peer that stops reading: the queue grows past the limit and the handler hears `writability(false)` (the
    /// write that crossed it was direct: nothing else was queued); when the peer reads again, `true` follows, once.
    @Test func aPeerThatStopsReadingStillGetsWritabilityEvents() throws {
        let peer = try HeldPeer()
        defer { peer.close() }
        let g = RWLoopGroup(name: "dw")
        let rec = WritabilityRecorder()
        let limit = 64 * 1024
        let c = g.connect(
            to: SocketAddress(ip: "127.0.0.1", port: peer.port)!, timeout: .seconds(2),
            options: ConnectionOptions(writeLimit: limit), label: "t", handler: rec)
        let s = try peer.accept()
        defer { s.close() }
        #expect(waitUntil { rec.isConnected })
        let chunk = patternBytes(count: 16 * 1024, seed: 3)
        var written = 0
        while c.isWritable && written < 64 << 20 {
            c.write(ByteBuffer(copying: chunk))
            written += chunk.count
        }
        #expect(!c.isWritable, "never crossed the limit")
        // One writer: every write was direct until the socket took only part of one (counted), then the writer.
        let st = c.stats.snapshot
        #expect(st.partialWrites + st.eagain >= 1)
        #expect(waitUntil { c.rwThreads!.writerTid.load(ordering: .relaxed) != 0 }, "no writer thread")
        #expect(waitUntil { rec.changes.withLock { $0 } == [false] })
        #expect(c.queuedBytes > limit / 2)
        let got = try s.receive(exactly: written)
        #expect(got.count == written)
        let intact = stride(from: 0, to: written, by: chunk.count).allSatisfy {
            got[$0..<($0 + chunk.count)].elementsEqual(chunk)
        }
        #expect(intact)
        #expect(waitUntil { rec.changes.withLock { $0 } == [false, true] })
        #expect(c.isWritable)
        c.close()
        #expect(waitUntil { rec.closes.load(ordering: .relaxed) == 1 })
    }

    /// Closing while other threads write directly: the close is reported once, the threads leave, and no write ever
    /// meets a closed descriptor (`ioCall` traps on EBADF, which would end this test process).
    @Test func closeDuringDirectWritesIsClean() throws {
        let server = try EchoServer(mode: .echo)
        defer { server.stop() }
        let g = RWLoopGroup(name: "dw")
        for round in 0..<30 {
            let rec = WritabilityRecorder()
            let c = g.connect(
                to: SocketAddress(ip: "127.0.0.1", port: server.port)!, timeout: .seconds(2),
                options: ConnectionOptions(), label: "t", handler: rec)
            #expect(waitUntil { rec.isConnected })
            let stop = Atomic<Bool>(false)
            let left = Atomic<Int>(0)
            for _ in 0..<3 {
                try NetThread.start(name: "dw-writer", stackSize: 1 << 20) {
                    let payload = patternBytes(count: 8 * 1024, seed: UInt64(round))
                    while !stop.load(ordering: .relaxed) {
                        payload.withUnsafeBytes { c.write(copying: $0) }
                    }
                    left.wrappingAdd(1, ordering: .relaxed)
                }
            }
            usleep(UInt32(1000 + round * 300))
            c.close()
            usleep(2000)
            stop.store(true, ordering: .relaxed)
            #expect(waitUntil { left.load(ordering: .relaxed) == 3 })
            #expect(waitUntil { rec.closes.load(ordering: .relaxed) == 1 }, "round \(round)")
            #expect(rec.closeReason.withLock { $0 } == .local)
            #expect(c.currentState == .closed)
        }
        #expect(waitUntil { g.readers.load(ordering: .relaxed) == 0 && g.writers.load(ordering: .relaxed) == 0 })
    }
}
