import Glibc
import SkiffNet
import SkiffTelemetry

extension FramePublisher {
    /// Every poller of every netpoll group, every worker shard, rwloop's thread counts.
    func threadRecords() -> TelemetryFrame.Threads {
        var t = TelemetryFrame.Threads()
        for g in engine.pollerGroups {
            for p in g.pollers {
                let s = p.snapshot
                var r = TelemetryFrame.Poller()
                r.group = g.name
                r.index = s.index
                r.tid = Int(s.tid)
                r.fds = s.registered
                r.wakeups = s.wakeups
                r.events = s.events
                r.cpuMs = threadCPUMillis(tid: s.tid)
                t.pollers.append(r)
            }
        }
        for l in engine.listeners {
            guard let pool = l.workers else { continue }
            for (i, s) in pool.snapshot.enumerated() {
                var r = TelemetryFrame.Worker()
                r.pool = pool.name
                r.index = i
                r.tid = Int(s.tid)
                r.busy = s.busy
                r.queue = s.queueDepth
                r.maxQueue = s.maxQueueDepth
                r.processed = s.processed
                r.cpuMs = threadCPUMillis(tid: s.tid)
                t.workers.append(r)
            }
        }
        t.rwloop.readers = engine.rwloop?.readers.load(ordering: .relaxed) ?? 0
        t.rwloop.writers = engine.rwloop?.writers.load(ordering: .relaxed) ?? 0
        t.rwloop.connections = engine.rwloop?.registry.count ?? 0
        t.rwloop.spawnFailures = engine.rwloop?.spawnFailures.load(ordering: .relaxed) ?? 0
        return t
    }

    /// CPU time of one of our threads in ms: the scheduler's nanosecond count (`schedstat`) where the kernel keeps
    /// it, else utime+stime from `stat` (10 ms ticks); 0 when unknown.
    func threadCPUMillis(tid: Int32) -> UInt64 { Self.readThreadCPUMillis(tid: tid) }

    static func readThreadCPUMillis(tid: Int32) -> UInt64 {
        guard tid > 0 else { return 0 }
        if let f = fopen("/proc/self/task/\(tid)/schedstat", "r") {
            defer { fclose(f) }
            var ns: UInt64 = 0
            if withUnsafeMutablePointer(to: &ns, { readFirstNumber(f, $0) }) { return ns / 1_000_000 }
        }
        guard let f = fopen("/proc/self/task/\(tid)/stat", "r") else { return 0 }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 512)
        guard fgets(&buf, 512, f) != nil else { return 0 }
        let line = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let close = line.lastIndex(of: ")") else { return 0 }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = UInt64(fields[11]), let s = UInt64(fields[12]) else { return 0 }
        return (u + s) * 1000 / UInt64(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Reads the leading decimal number of `f`.
    private static func readFirstNumber(_ f: UnsafeMutablePointer<FILE>, _ out: UnsafeMutablePointer<UInt64>) -> Bool {
        var buf = [CChar](repeating: 0, count: 64)
        guard fgets(&buf, 64, f) != nil else { return false }
        let text = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let v = UInt64(text.prefix { $0.isNumber }) else { return false }
        out.pointee = v
        return true
    }
}
