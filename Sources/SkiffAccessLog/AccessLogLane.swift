import Synchronization

/// One executor's buffers for one access-log file: the executor formats lines straight into them, the writer thread
/// writes what they hold. A fixed set of `bufferCount` buffers of `bufferSize` bytes, allocated with the lane (on the
/// executor's first line to the file) and never again.
///
/// Single producer (the executor; or, for the file's shared lane, whoever holds the file's shared lock), single
/// consumer (the writer), no lock between them:
/// - the executor fills buffer `filling % bufferCount`, publishing each complete line by storing the buffer's
///   `committed` word (lines in the high 32 bits, bytes in the low 32; release); the writer may write any committed
///   prefix at any time (the 100 ms flush);
/// - a line goes in only where its worst case fits (`CompiledAccessLogFormat.maxLength`), so it is written without a
///   check per byte; a buffer without that room is sealed (`sealed` = buffers sealed so far, release) and the writer
///   nudged; the executor moves on to the next buffer once the writer has drained it (`drained`, acquire). If none
///   is free, the line is dropped and counted (`droppedFull`): traffic never waits for the disk;
/// - the writer, having written all of a sealed buffer, resets its `committed` and advances `drained` (release).
final class AccessLogLane: @unchecked Sendable {  // see the protocol above: each field has one writer
    static let bufferSize = 64 * 1024
    static let bufferCount = 4

    private let memory: UnsafeMutablePointer<UInt8>
    private let committed: UnsafeMutablePointer<Atomic<UInt64>>
    private let sealed = Atomic<UInt64>(0)
    private let drained = Atomic<UInt64>(0)
    /// Lines refused because every buffer was full (the writer is behind).
    let droppedFull = Atomic<UInt64>(0)
    private unowned let writer: AccessLogWriter

    // The producer's.
    private var filling: UInt64 = 0
    private var position = 0
    private var lines: UInt64 = 0
    /// The buffer being filled is sealed and no free one was there yet.
    private var waiting = false
    /// `start_time`'s cache, the producer's.
    let time = StartTimeCache.make()

    // The writer's.
    private var written = 0
    private var linesWritten: UInt64 = 0
    private var drainedByWriter: UInt64 = 0

    init(writer: AccessLogWriter) {
        self.writer = writer
        memory = .allocate(capacity: Self.bufferSize * Self.bufferCount)
        committed = .allocate(capacity: Self.bufferCount)
        for i in 0..<Self.bufferCount { (committed + i).initialize(to: Atomic(0)) }
    }

    deinit {
        StartTimeCache.free(time)
        committed.deinitialize(count: Self.bufferCount)
        committed.deallocate()
        memory.deallocate()
    }

    // MARK: - Producer

    /// Formats `r` with `format` into the current buffer, or the next one; drops it (counted) when none is free.
    @inline(__always)
    func append(_ format: Unmanaged<CompiledAccessLogFormat>, _ r: AccessLogRecord) {
        format._withUnsafeGuaranteedRef { append($0, r) }
    }

    @inline(__always)
    func append(_ format: CompiledAccessLogFormat, _ r: AccessLogRecord) {
        let room = Self.bufferSize - position
        if waiting || format.hasCaptures || room < format.roomyBound {
            let need = format.maxLength(r)
            if waiting || room < need {
                guard makeRoom(need) else { return drop() }
            }
        }
        let i = Int(filling % UInt64(Self.bufferCount))
        let base = memory + i * Self.bufferSize
        let end = format.write(r, time: time, at: base + position)
        position = end - base
        lines &+= 1
        committed[i].store(lines << 32 | UInt64(position), ordering: .releasing)
    }

    /// A buffer with `need` bytes free: this one sealed, the next one taken if the writer has drained it.
    @inline(never)
    private func makeRoom(_ need: Int) -> Bool {
        guard need <= Self.bufferSize else { return false }
        if !waiting {
            if position == 0 { return true }
            sealed.store(filling + 1, ordering: .releasing)
            waiting = true
            writer.nudge()
        }
        if filling + 1 - drained.load(ordering: .acquiring) >= UInt64(Self.bufferCount) { return false }
        filling += 1
        position = 0
        lines = 0
        waiting = false
        return true
    }

    @inline(never)
    private func drop() { droppedFull.wrappingAdd(1, ordering: .relaxed) }

    // MARK: - Writer

    /// Hands every committed, unwritten run and its number of lines to `write`, in order, freeing the sealed buffers
    /// written in full. `write` returns after the bytes are dealt with (written or counted lost). Writer thread only.
    func drain(_ write: (UnsafeRawBufferPointer, UInt64) -> Void) {
        while true {
            let d = drainedByWriter
            let i = Int(d % UInt64(Self.bufferCount))
            // Sealed first, then the length: a sealed buffer's final length is then visible.
            let isSealed = sealed.load(ordering: .acquiring) > d
            let word = committed[i].load(ordering: .acquiring)
            let end = Int(word & 0xffff_ffff)
            let endLines = word >> 32
            if end > written {
                write(
                    UnsafeRawBufferPointer(start: memory + i * Self.bufferSize + written, count: end - written),
                    endLines &- linesWritten)
                written = end
                linesWritten = endLines
            }
            guard isSealed else { return }
            committed[i].store(0, ordering: .relaxed)
            written = 0
            linesWritten = 0
            drainedByWriter = d + 1
            drained.store(d + 1, ordering: .releasing)
        }
    }
}
