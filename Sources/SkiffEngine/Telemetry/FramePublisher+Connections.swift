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
        var seen: [UInt64: ConnectionBaseline] = [:]
        seen.reserveCapacity(all.count)
        let now = MonotonicClock.now()
        let tlsOwners = tlsOwnerLabels()
        for c in all {
            let s = c.stats
            let bytesIn = s.bytesRead.load(ordering: .relaxed)
            let bytesOut = s.bytesWritten.load(ordering: .relaxed)
            let old = lastConnection[c.id]
            if !full, let old, old.bytesIn == bytesIn, old.bytesOut == bytesOut, !old.awaitingTLS {
                seen[c.id] = old
                continue
            }
            // A TLS owner's connection sent before its handshake finished is looked at again each frame (its lock,
            // nothing more) until its TLS fields come, even when no byte moves.
            let tls = tlsOwners.contains(c.label) ? c.tlsInfo : nil
            let awaitingTLS = tls == nil && tlsOwners.contains(c.label)
            seen[c.id] = ConnectionBaseline(bytesIn: bytesIn, bytesOut: bytesOut, awaitingTLS: awaitingTLS)
            if !full, let old, old.bytesIn == bytesIn, old.bytesOut == bytesOut, awaitingTLS { continue }
            records.append(record(c, s.snapshot, tls: tls, now: now))
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

    private func record(
        _ c: Connection, _ snap: WriteStatsSnapshot, tls: TLSConnectionInfo?, now: UInt64
    ) -> TelemetryFrame.Connection {
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
        r.tls = tls.map(TelemetryFrame.ConnectionTLS.init)
        return r
    }
}

/// A connection as the last pushed frame saw it: its byte counters, and whether it belongs to a TLS listener or
/// cluster and was sent without its TLS fields (the handshake had not finished, or it is a plaintext connection
/// there: an inspector's plaintext branch, a `tls_disable` host).
struct ConnectionBaseline {
    var bytesIn: UInt64
    var bytesOut: UInt64
    var awaitingTLS: Bool
}
