import Glibc
import SkiffSystem
import Synchronization

/// The engine behind ``FrameRing`` and ``EventRing``: a bounded ring of variable-size byte frames that overwrites the
/// oldest, numbers frames from 1, and lets any number of readers copy frames out without ever blocking a producer.
///
/// ## Layout
/// Frames are stored as records of 64-bit words in a circular buffer of `Atomic<UInt64>`: `[seq][byte length]
/// [payload padded to 8 bytes]`. Word positions grow monotonically (they are taken modulo the buffer size only to
/// address memory) so a record may wrap around the end of the buffer. A second circular array, `slots`, maps
/// `seq % slotCount` to the record's word position so a reader finds any retained frame in O(1).
///
/// ## Concurrency: a seqlock per frame
/// Producers (one thread, or several serialised by `pushLock` when `multiProducer`) never wait for readers:
/// 1. evict the oldest records until the new one fits (in bytes and in slots), store the new `oldest` sequence
///    number, then a *release fence*;
/// 2. write the record's words and its slot with relaxed stores (the fence orders them after step 1);
/// 3. publish with a store of `latest` (release, and sequentially consistent for the wait handshake).
///
/// A reader wanting frame `s` loads `latest` (acquire), takes `max(s, oldest)`, loads its slot and header, copies the
/// payload word by word with relaxed loads, then issues an *acquire fence* and reloads `oldest`. If the frame is
/// still retained (`oldest <= s`), no word it copied can come from a later record: a producer overwrites a word (or
/// reuses a slot) only after evicting the frame that owned it, and if the reader loaded any such word, fence-to-fence synchronisation
/// makes that eviction visible to the reload. Otherwise the reader was lapped mid-copy and retries from the new
/// oldest frame; it never returns a torn frame. Every access stays in bounds even when it reads garbage (positions
/// are reduced modulo the buffer, lengths are checked), and because every shared word is an `Atomic`, there is no
/// data race in the language's sense either.
///
/// `@unchecked Sendable`: the buffers are allocated in `init`, freed in `deinit`, and only touched through `Atomic`
/// operations; producer-side state (`head`, `tail`) is written only by the producer holding the push role.
final class ByteRing: @unchecked Sendable {
    /// The capacity asked for, in bytes (record headers included).
    let capacityBytes: Int
    /// The largest accepted payload: half the capacity, so one huge frame cannot wipe out the history readers are
    /// catching up on.
    let maxFrameBytes: Int
    /// Whether `push` may be called from several threads at once (it then takes `pushLock`).
    let multiProducer: Bool

    private let wordCount: Int
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let slotCount: Int
    private let slots: UnsafeMutablePointer<Atomic<UInt64>>

    /// Sequence number of the newest published frame, 0 before the first.
    private let latest = Atomic<UInt64>(0)
    /// Sequence number of the oldest retained frame (`latest + 1` while empty).
    private let oldest = Atomic<UInt64>(1)
    /// Word position just past the newest record.
    private let head = Atomic<UInt64>(0)
    /// Word position of the oldest retained record.
    private let tail = Atomic<UInt64>(0)
    private let rejectedCount = Atomic<UInt64>(0)
    /// Reads that had to start over because the producer lapped them mid-copy (diagnostics, tests).
    let lappedReads = Atomic<UInt64>(0)

    /// Serialises producers of a multi-producer ring; unused otherwise.
    private let pushLock = Mutex<Void>(())
    /// Debug-only detector for two threads pushing into a single-producer ring at once.
    private let pushing = Atomic<Bool>(false)
    private let signal = RingSignal()

    /// - Parameters:
    ///   - capacityBytes: buffer size in bytes, at least 64; each frame costs 16 bytes of header plus its payload
    ///     rounded up to 8.
    ///   - maxFrames: how many frames may be retained regardless of bytes (the size of the seq index, 8 bytes per
    ///     slot); rounded up to a power of two. The default, `capacityBytes / 64`, never binds for frames of 48
    ///     bytes or more.
    ///   - multiProducer: serialise concurrent `push` calls with a mutex.
    init(capacityBytes: Int, maxFrames: Int? = nil, multiProducer: Bool) {
        precondition(capacityBytes >= 64, "ring capacity must be at least 64 bytes, got \(capacityBytes)")
        self.capacityBytes = capacityBytes
        self.maxFrameBytes = capacityBytes / 2
        self.multiProducer = multiProducer
        wordCount = (capacityBytes + 7) / 8
        // Zero pages from the kernel: a ring of several MiB costs memory only as frames fill it.
        words = ZeroedPages.allocate(Atomic<UInt64>.self, count: wordCount)
        let wantedSlots = max(16, maxFrames ?? capacityBytes / 64)
        slotCount =
            wantedSlots.nonzeroBitCount == 1 ? wantedSlots : 1 << (Int.bitWidth - wantedSlots.leadingZeroBitCount)
        slots = ZeroedPages.allocate(Atomic<UInt64>.self, count: slotCount)
    }

    deinit {
        ZeroedPages.deallocate(words, count: wordCount)
        ZeroedPages.deallocate(slots, count: slotCount)
    }

    /// Bytes of the ring's buffers now resident in memory (pages written so far; tests and diagnostics).
    var residentBytes: Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return (ZeroedPages.residentPages(words, count: wordCount) + ZeroedPages.residentPages(slots, count: slotCount))
            * page
    }

    // MARK: Producer

    /// Appends a frame, evicting the oldest as needed, and wakes waiting readers.
    ///
    /// - Returns: the frame's sequence number, or 0 if it is larger than `maxFrameBytes` (counted in `rejected`).
    func push(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count <= maxFrameBytes else {
            rejectedCount.wrappingAdd(1, ordering: .relaxed)
            return 0
        }
        let seq: UInt64
        if multiProducer {
            seq = pushLock.withLock { _ in append(bytes) }
        } else {
            #if DEBUG
                let (wasIdle, _) = pushing.compareExchange(expected: false, desired: true, ordering: .acquiring)
                precondition(wasIdle, "two threads pushed into a single-producer ring at once")
                defer { pushing.store(false, ordering: .releasing) }
            #endif
            seq = append(bytes)
        }
        signal.notifyAll()
        return seq
    }

    /// Writes one record. The caller holds the push role (the single producer, or `pushLock`).
    private func append(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let recordWords = 2 + UInt64((bytes.count + 7) / 8)
        let seq = latest.load(ordering: .relaxed) + 1
        let position = head.load(ordering: .relaxed)
        var tailPosition = tail.load(ordering: .relaxed)
        var oldestSeq = oldest.load(ordering: .relaxed)
        let evicting = oldestSeq
        while oldestSeq < seq
            && (position + recordWords - tailPosition > UInt64(wordCount) || seq - oldestSeq >= UInt64(slotCount))
        {
            let length = words[wordIndex(tailPosition + 1)].load(ordering: .relaxed)
            tailPosition += 2 + (length + 7) / 8
            oldestSeq += 1
        }
        if oldestSeq != evicting {
            tail.store(tailPosition, ordering: .relaxed)
            oldest.store(oldestSeq, ordering: .relaxed)
            // Readers that load any word written below must also see the eviction (see the type's doc).
            atomicMemoryFence(ordering: .releasing)
        }
        words[wordIndex(position)].store(seq, ordering: .relaxed)
        words[wordIndex(position + 1)].store(UInt64(bytes.count), ordering: .relaxed)
        storePayload(bytes, at: position + 2)
        slots[Int(seq & UInt64(slotCount - 1))].store(position, ordering: .relaxed)
        head.store(position + recordWords, ordering: .relaxed)
        latest.store(seq, ordering: .sequentiallyConsistent)
        return seq
    }

    private func storePayload(_ bytes: UnsafeRawBufferPointer, at position: UInt64) {
        let fullWords = bytes.count / 8
        var index = wordIndex(position)
        for word in 0..<fullWords {
            words[index].store(bytes.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self), ordering: .relaxed)
            index = index + 1 == wordCount ? 0 : index + 1
        }
        let rest = bytes.count - fullWords * 8
        if rest > 0 {
            var last: UInt64 = 0
            withUnsafeMutableBytes(of: &last) { last in
                last.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(fullWords * 8)...]))
            }
            words[index].store(last, ordering: .relaxed)
        }
    }

    // MARK: Readers

    /// Copies the first retained frame after `cursor` into `frame`; any thread, never blocks the producer.
    ///
    /// - Returns: `.frame(seq:missed:)` with `missed` the frames overwritten between `cursor` and it, or `.none` if
    ///   no frame newer than `cursor` exists (then `frame` is untouched).
    func read(after cursor: UInt64, into frame: inout [UInt8]) -> FrameRead {
        while true {
            let newest = latest.load(ordering: .acquiring)
            guard newest > cursor else { return .none }
            let wanted = max(cursor + 1, oldest.load(ordering: .acquiring))
            if wanted <= newest {
                let position = slots[Int(wanted & UInt64(slotCount - 1))].load(ordering: .relaxed)
                let seq = words[wordIndex(position)].load(ordering: .relaxed)
                let length = words[wordIndex(position + 1)].load(ordering: .relaxed)
                if seq == wanted && length <= UInt64(maxFrameBytes) {
                    copyPayload(at: position + 2, length: Int(length), into: &frame)
                    atomicMemoryFence(ordering: .acquiring)
                    if oldest.load(ordering: .relaxed) <= wanted {
                        return .frame(seq: wanted, missed: wanted - cursor - 1)
                    }
                }
            }
            // Lapped (or caught the producer between evicting and publishing): start again from the new oldest.
            lappedReads.wrappingAdd(1, ordering: .relaxed)
        }
    }

    private func copyPayload(at position: UInt64, length: Int, into frame: inout [UInt8]) {
        if frame.count > length {
            frame.removeLast(frame.count - length)
        } else if frame.count < length {
            frame.append(contentsOf: repeatElement(0, count: length - frame.count))
        }
        frame.withUnsafeMutableBytes { destination in
            let fullWords = length / 8
            var index = wordIndex(position)
            for word in 0..<fullWords {
                destination.storeBytes(
                    of: words[index].load(ordering: .relaxed), toByteOffset: word * 8, as: UInt64.self)
                index = index + 1 == wordCount ? 0 : index + 1
            }
            let rest = length - fullWords * 8
            if rest > 0 {
                let last = words[index].load(ordering: .relaxed)
                withUnsafeBytes(of: last) { last in
                    UnsafeMutableRawBufferPointer(rebasing: destination[(fullWords * 8)...])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: last[..<rest]))
                }
            }
        }
    }

    /// Blocks until a frame newer than `cursor` exists or `timeoutNs` pass; returns whether one exists.
    func wait(after cursor: UInt64, timeoutNs: UInt64) -> Bool {
        if latest.load(ordering: .acquiring) > cursor { return true }
        return signal.wait(timeoutNs: timeoutNs) { latest.load(ordering: .sequentiallyConsistent) > cursor }
    }

    // MARK: Gauges (any thread; each is a consistent-enough sample, not a snapshot of the whole ring)

    /// Sequence number of the newest frame, 0 before the first push.
    var latestSeq: UInt64 { latest.load(ordering: .acquiring) }

    /// Sequence number of the oldest retained frame, 0 while the ring is empty.
    var oldestSeq: UInt64 {
        let first = oldest.load(ordering: .acquiring)
        return latest.load(ordering: .acquiring) >= first ? first : 0
    }

    /// Number of retained frames.
    var count: Int {
        let first = oldest.load(ordering: .acquiring)
        let last = latest.load(ordering: .acquiring)
        return last >= first ? min(Int(last - first + 1), slotCount) : 0
    }

    /// Bytes occupied by retained records, headers and padding included.
    var usedBytes: Int {
        let start = tail.load(ordering: .acquiring)
        let end = head.load(ordering: .acquiring)
        return end >= start ? min(Int(end - start), wordCount) * 8 : 0
    }

    /// Frames refused because they exceeded `maxFrameBytes`.
    var rejected: UInt64 { rejectedCount.load(ordering: .relaxed) }

    /// The frame-count bound (`maxFrames` rounded up to a power of two).
    var frameSlots: Int { slotCount }

    @inline(__always)
    private func wordIndex(_ position: UInt64) -> Int {
        Int(position % UInt64(wordCount))
    }
}
