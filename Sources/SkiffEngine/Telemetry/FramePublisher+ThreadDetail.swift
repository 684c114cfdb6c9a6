import Synchronization
import SkiffNet
import SkiffTelemetry

/// The Threads view in depth: rwloop thread by thread, and per listener what its thread model costs. Publisher
/// thread only; reads /proc for each thread's CPU.
extension FramePublisher {
    func addThreadDetail(
        _ t: inout TelemetryFrame.Threads, live: [String: [Connection]], listeners: [TelemetryFrame.Listener]
    ) {
        let cache = threadCPU
        let now = MonotonicClock.now()
        func cpu(_ tid: Int32) -> UInt64 { cache.millis(tid: tid, now: now) }
        t.rwloop.threads = rwloopThreads(live: live, cpu: cpu)
        let records = Dictionary(listeners.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        t.listeners = engine.listeners.map { l in
            listenerCost(l, record: records[l.name], connections: live[l.name] ?? [], cpu: cpu)
        }
    }

    /// A reader and a writer row per rwloop connection, the connections that moved most bytes first.
    private func rwloopThreads(live: [String: [Connection]], cpu: (Int32) -> UInt64) -> [TelemetryFrame.RWThread] {
        var conns: [(Connection, RWThreadStates, WriteStatsSnapshot)] = []
        for list in live.values {
            for c in list {
                guard let s = c.rwThreads else { continue }
                conns.append((c, s, c.stats.snapshot))
            }
        }
        conns.sort { ($0.2.bytesRead &+ $0.2.bytesWritten) > ($1.2.bytesRead &+ $1.2.bytesWritten) }
        var rows: [TelemetryFrame.RWThread] = []
        for (c, s, st) in conns {
            if rows.count >= TelemetryFrame.RWLoop.maxThreadRows { break }
            for reader in [true, false] {
                let tid = reader ? s.readerTid.load(ordering: .relaxed) : s.writerTid.load(ordering: .relaxed)
                let activity = reader ? s.readerActivity : s.writerActivity
                guard tid > 0, activity != .gone else { continue }
                var r = TelemetryFrame.RWThread()
                r.tid = Int(tid)
                r.role = reader ? "reader" : "writer"
                r.conn = c.id
                r.owner = c.label
                r.peer = c.peerAddress?.description ?? ""
                r.state = activity.description
                r.cpuMs = cpu(tid)
                r.bytes = reader ? st.bytesRead : st.bytesWritten
                rows.append(r)
            }
        }
        return rows
    }

    private func listenerCost(
        _ l: RunningListener, record: TelemetryFrame.Listener?, connections: [Connection], cpu: (Int32) -> UInt64
    ) -> TelemetryFrame.ListenerCost {
        var r = TelemetryFrame.ListenerCost()
        r.name = l.name
        r.model = l.model.rawValue
        r.connections = l.listener.stats.active.load(ordering: .relaxed)
        r.requests = record?.requestsOrSessions ?? 0
        r.buffers = record?.writes.buffers ?? 0
        r.writev = record?.writes.writev ?? 0
        var reads = l.totals.snapshot.readCalls
        var bufferBytes = 0
        for c in connections where c.direction == .inbound { reads &+= c.stats.snapshot.readCalls }
        r.syscalls = reads &+ r.writev
        var threads = 0
        var cpuMs: UInt64 = 0
        switch l.model {
        case .netpoll:
            for p in l.listener.pollers {
                threads += 1
                cpuMs &+= cpu(p.tid.load(ordering: .relaxed))
                r.syscalls &+= p.wakeups.load(ordering: .relaxed)
                bufferBytes += (p.pool.allocatedCount - p.pool.freeCount) * p.pool.bufferSize
            }
        case .rwloop:
            threads += 1  // the accept thread
            var connectionThreads = 0  // readers, and writers where back-pressure started one
            for c in connections where c.direction == .inbound {
                guard let s = c.rwThreads else { continue }
                for tid in [s.readerTid.load(ordering: .relaxed), s.writerTid.load(ordering: .relaxed)] where tid > 0 {
                    connectionThreads += 1
                    cpuMs &+= cpu(tid)
                }
            }
            threads += connectionThreads
            if let g = engine.rwloop {
                bufferBytes = (g.pool.allocatedCount - g.pool.freeCount) * g.pool.bufferSize
                bufferBytes += connectionThreads * g.stackSize
            }
        }
        if let pool = l.workers {
            for s in pool.snapshot {
                threads += 1
                cpuMs &+= cpu(s.tid)
            }
        }
        r.threads = threads
        r.cpuMs = cpuMs
        r.memPerCx = r.connections > 0 ? UInt64(max(0, bufferBytes) / r.connections) : 0
        return r
    }
}

/// Per-thread CPU as the frames show it, read from /proc (`readThreadCPUMillis`) at most once per `maxAgeNs` for
/// each thread: with a thousand rwloop connections and frames every 50 ms, reading every thread on every frame would
/// be tens of thousands of /proc reads a second with nobody watching. Entries not asked for in `forgetAfterNs` are
/// dropped (their threads are gone).
///
/// Thread-safe: frames are built by the publisher thread and, for `snapshot` and `stats`, by control threads.
final class ThreadCPUCache: Sendable {
    let maxAgeNs: UInt64
    let forgetAfterNs: UInt64
    private let read: @Sendable (Int32) -> UInt64
    private struct State {
        /// Room for the usual threads from the start, never given back: the first growth looks its storage type up
        /// by name (~750k instructions, once), which would otherwise land on a frame while traffic is measured.
        var entries = [Int32: (millis: UInt64, readAt: UInt64, askedAt: UInt64)](minimumCapacity: 64)
        var reads = 0
        var lastPrune: UInt64 = 0
    }
    private let state = Mutex(State())

    init(
        maxAgeNs: UInt64 = 1_000_000_000, forgetAfterNs: UInt64 = 10_000_000_000,
        read: @escaping @Sendable (Int32) -> UInt64 = FramePublisher.readThreadCPUMillis
    ) {
        self.maxAgeNs = maxAgeNs
        self.forgetAfterNs = forgetAfterNs
        self.read = read
    }

    /// /proc reads so far (for tests).
    var reads: Int { state.withLock { $0.reads } }
    var count: Int { state.withLock { $0.entries.count } }

    func millis(tid: Int32, now: UInt64) -> UInt64 {
        guard tid > 0 else { return 0 }
        return state.withLock { s in
            if s.lastPrune == 0 || now &- s.lastPrune > forgetAfterNs {
                // In place: the table keeps its room (a filtered copy would start small and grow again).
                for (tid, e) in s.entries where now &- e.askedAt > forgetAfterNs { s.entries.removeValue(forKey: tid) }
                s.lastPrune = now
            }
            if let e = s.entries[tid], now &- e.readAt < maxAgeNs {
                s.entries[tid]!.askedAt = now
                return e.millis
            }
            s.reads += 1
            let v = read(tid)
            s.entries[tid] = (v, now, now)
            return v
        }
    }
}
