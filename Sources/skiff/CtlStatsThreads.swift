import SkiffTelemetry

/// The threads part of `skiff ctl stats` (its help promises them): netpoll pollers, worker shards and rwloop's
/// thread counts, from the same frame the tables above come from.
func printThreads(_ t: TelemetryFrame.Threads) {
    print("")
    if t.pollers.isEmpty {
        print("POLLERS  none")
    } else {
        printTable(
            ["POLLER", "TID", "FDS", "WAKEUPS", "EVENTS", "CPU"],
            t.pollers.map { p in
                [
                    "\(p.group)/\(p.index)", "\(p.tid)", "\(p.fds)", Humanize.count(p.wakeups), Humanize.count(p.events),
                    Humanize.duration(ns: p.cpuMs &* 1_000_000),
                ]
            })
    }
    if !t.workers.isEmpty {
        print("")
        printTable(
            ["WORKER", "TID", "BUSY", "QUEUE", "MAX QUEUE", "PROCESSED", "CPU"],
            t.workers.map { w in
                [
                    "\(w.pool)/\(w.index)", "\(w.tid)", w.busy ? "busy" : "idle", "\(w.queue)", "\(w.maxQueue)",
                    Humanize.count(w.processed), Humanize.duration(ns: w.cpuMs &* 1_000_000),
                ]
            })
    }
    let rw = t.rwloop
    print("")
    print("RWLOOP  readers \(rw.readers)  writers \(rw.writers)  connections \(rw.connections)  spawn failures \(rw.spawnFailures)")
}
