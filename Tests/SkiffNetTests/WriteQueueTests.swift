import Glibc
import Testing

@testable import SkiffNet

@Suite struct WriteQueueTests {
    /// The (noncopyable) queue's counts, read for an expectation.
    static func state(_ q: borrowing WriteQueue) -> (count: Int, bytes: Int, isEmpty: Bool) {
        (q.count, q.bytes, q.isEmpty)
    }

    @Test func gathersAtMostMaxAndConsumesPartially() {
        let pool = BufferPool(bufferSize: 16, maxFree: 64)
        var q = WriteQueue(initialCapacity: 2)
        for i in 0..<20 {
            let b = pool.acquire()
            b.write([UInt8](repeating: UInt8(i), count: 10))
            q.append(b)
        }
        #expect(Self.state(q).count == 20)
        #expect(Self.state(q).bytes == 200)
        let iov = UnsafeMutablePointer<iovec>.allocate(capacity: 16)
        defer { iov.deallocate() }
        let (n, total) = q.gather(into: iov, max: 16)
        #expect(n == 16)
        #expect(total == 160)
        // A partial write: 3 whole buffers and 5 bytes of the 4th.
        q.consume(35)
        #expect(Self.state(q).count == 17)
        #expect(Self.state(q).bytes == 165)
        let (n2, total2) = q.gather(into: iov, max: 16)
        #expect(n2 == 16)
        #expect(iov[0].iov_len == 5)
        #expect(total2 == 5 + 15 * 10)
        #expect(iov[0].iov_base.load(as: UInt8.self) == 3)
        q.consume(165)
        #expect(Self.state(q).isEmpty)
        #expect(Self.state(q).bytes == 0)
        // Every buffer went back to the pool.
        #expect(pool.freeCount == 20)
    }

    /// Small copies share the buffer the queue made for them; a caller's buffer is never appended to; bytes appended
    /// behind a flush that already gathered the buffer leave with the next writev.
    @Test func copiesShareTheQueuesOwnTailOnly() {
        let pool = BufferPool(bufferSize: 64, maxFree: 8)
        var q = WriteQueue()
        let frame: [UInt8] = Array(repeating: 7, count: 20)
        // A caller's buffer at the tail: no appending to it.
        let callers = pool.acquire()
        callers.write(frame)
        q.append(callers)
        let copied1 = frame.withUnsafeBytes { q.appendToOwnTail($0) } != nil
        #expect(!copied1)
        // The queue's own buffer takes copies while it has room: 3 × 20 bytes in 64.
        let own = pool.acquire()
        own.write(frame)
        q.append(own, ownTail: true)
        let copied2 = frame.withUnsafeBytes { q.appendToOwnTail($0) } != nil
        #expect(copied2)
        let copied3 = frame.withUnsafeBytes { q.appendToOwnTail($0) } != nil
        #expect(copied3)
        let copied4 = frame.withUnsafeBytes { q.appendToOwnTail($0) } != nil
        #expect(!copied4)
        #expect(Self.state(q).count == 2)
        #expect(Self.state(q).bytes == 80)
        #expect(callers.readableBytes == 20)
        // A flush gathers 20 + 60, then 4 more bytes arrive behind it; writing what was gathered leaves exactly
        // those 4 queued.
        let iov = UnsafeMutablePointer<iovec>.allocate(capacity: 4)
        defer { iov.deallocate() }
        let (_, gathered) = q.gather(into: iov, max: 4)
        #expect(gathered == 80)
        let copied5 = [UInt8](repeating: 9, count: 4).withUnsafeBytes { q.appendToOwnTail($0) } != nil
        #expect(copied5)
        q.consume(gathered)
        #expect(Self.state(q).count == 1)
        #expect(Self.state(q).bytes == 4)
        let (n, rest) = q.gather(into: iov, max: 4)
        #expect(n == 1 && rest == 4)
        #expect(iov[0].iov_base.load(as: UInt8.self) == 9)
    }

    @Test func ringGrowsPreservingOrder() {
        var q = WriteQueue(initialCapacity: 1)
        for i in 0..<100 { q.append(ByteBuffer(copying: [UInt8(i)])) }
        q.consume(50)
        for i in 100..<150 { q.append(ByteBuffer(copying: [UInt8(i)])) }
        let iov = UnsafeMutablePointer<iovec>.allocate(capacity: 200)
        defer { iov.deallocate() }
        let (n, _) = q.gather(into: iov, max: 200)
        #expect(n == 100)
        let firsts = (0..<n).map { iov[$0].iov_base.load(as: UInt8.self) }
        #expect(firsts == (50..<150).map { UInt8($0) })
    }

    @Test func poolReusesBuffers() {
        let pool = BufferPool(bufferSize: 1024, maxFree: 2)
        let a = pool.acquire()
        let b = pool.acquire()
        let c = pool.acquire()
        #expect(pool.allocatedCount == 3)
        a.release()
        b.release()
        c.release()  // over maxFree: freed
        #expect(pool.freeCount == 2)
        #expect(pool.allocatedCount == 2)
        let d = pool.acquire()
        #expect(d === b || d === a)
        #expect(d.readableBytes == 0)
    }

    @Test func timerHeapOrdersAndSkipsCancelledAndRearmed() {
        var h = TimerHeap()
        var fired: [UInt64] = []
        var timers: [PollerTimer] = []
        for d in [50, 10, 30, 20, 40] as [UInt64] {
            let t = PollerTimer { fired.append(d) }
            timers.append(t)
            h.push(t, at: d)
        }
        timers[2].cancel()  // 30 never fires
        h.push(timers[1], at: 45)  // 10 re-armed to 45: its old entry is stale
        var out: [TimerHeap.Entry] = []
        h.popExpired(now: 35, into: &out)
        for e in out { e.timer.fire(generation: e.generation) }
        #expect(fired == [20])
        #expect(h.nextDeadline() == 40)
        out.removeAll()
        h.popExpired(now: 100, into: &out)
        for e in out { e.timer.fire(generation: e.generation) }
        #expect(fired == [20, 40, 10, 50])
        #expect(h.isEmpty)
    }

    @Test func histogramBuckets() {
        let s = ConnectionStats()
        for n in [1, 2, 3, 4, 7, 8, 15, 16, 64] { s.recordWritev(buffers: n) }
        #expect(s.snapshot.perWritev == [1, 2, 2, 2, 2])
        #expect(s.snapshot.writevCalls == 9)
    }
}
