import SkiffNet
import SkiffTelemetry

extension FramePublisher {
    /// The connection section: with `full`, every live connection (`table`); otherwise those whose byte counters
    /// moved since the last pushed frame (`changed`) and the ids gone since then (`closed`). An idle connection costs
    /// a dictionary lookup and no record. `updateBaseline` (publisher thread only) makes this frame the one the next
    /// compares with.
    func connectionRecords(_ all: [Connection], full: Bool, updateBaseline: Bool) -> TelemetryFrame.Connections {
        var section = TelemetryFrame.Connections()
        section.live = all.count
        var records: [TelemetryFrame.Connection] = []
        if updateBaseline && !full {
            // The last frame is gone by now, so the kept array is ours alone and keeps its capacity.
            swap(&records, &changedRecords)
            records.removeAll(keepingCapacity: true)
        } else if full {
            records.reserveCapacity(all.count)
        }
        var seen: [UInt64: (UInt64, UInt64)] = [:]
        seen.reserveCapacity(all.count)
        let now = MonotonicClock.now()
        for c in all {
            let s = c.stats
            let key = (s.bytesRead.load(ordering: .relaxed), s.bytesWritten.load(ordering: .relaxed))
            seen[c.id] = key
            if !full, let old = lastConnection[c.id], old == key { continue }
            records.append(record(c, s.snapshot, now: now))
        }
        if full {
            section.table = records
        } else {
            section.changed = records
            section.closed = lastConnection.keys.filter { seen[$0] == nil }
        }
        if updateBaseline {
            lastConnection = seen
            changedRecords = records
        }
        return section
    }

    private func record(_ c: Connection, _ snap: WriteStatsSnapshot, now: UInt64) -> TelemetryFrame.Connection {
        var r = TelemetryFrame.Connection()
        r.id = c.id
        r.dir = c.direction.rawValue
        r.model = c.model.rawValue
        r.owner = c.label
        r.peer = c.peerAddress?.description ?? ""
        r.ageMs = (now &- c.openedAt) / 1_000_000
        r.thread = c.ioThread
        r.handler = c.callbackThread
        r.bytesIn = snap.bytesRead
        r.bytesOut = snap.bytesWritten
        r.writev = snap.writevCalls
        r.buffers = snap.buffersQueued
        r.paused = c.isReadingPaused
        return r
    }
}
