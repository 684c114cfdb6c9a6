import SkiffAccessLog
import SkiffNet
import SkiffUpstream
import Synchronization

/// The access-log line of one tcp_proxy session (MOSN writes none; Skiff writes one when both sides have closed):
/// bytes both ways, how long it lasted, the upstream host it reached. `bytes_received` is what the client sent,
/// `bytes_sent` what it was sent; `request_received_duration` is the accept until the upstream connected.
///
/// Threads: a session's callbacks come from its poller, a worker shard, or (rwloop) both connections' reader and
/// writer threads: the record is filled under `lock`, and written once, by whichever thread ends the session.
final class TCPSessionLog: @unchecked Sendable {  // `record` behind `lock`
    let log: ListenerAccessLog
    private let lock = Mutex(())
    private let record: AccessLogRecord
    private let addresses: AccessLogAddresses

    init(_ log: ListenerAccessLog, connection: Connection) {
        self.log = log
        record = log.makeRecord()
        addresses = AccessLogAddresses(connection: connection)
        record.startNs = connection.openedAt
        record.requestFinishedNs = 0
        record.proto = .tcp
        record.connectionID = connection.id
        record.setDownstream(addresses)
    }

    func flag(_ f: AccessLogFlags) { lock.withLock { _ in record.flags.insert(f) } }

    /// The upstream connection `c` is established (the last attempt's).
    func connected(_ c: Connection) {
        let now = MonotonicClock.now()
        lock.withLock { _ in
            record.requestSentNs = now
            record.upstreamConnectionID = c.id
        }
    }

    /// Both sides closed: the line, from the calling thread's lane (its executor's, else the file's shared one).
    func end(downstream: Connection, host: Host?, cluster: Cluster) {
        let now = MonotonicClock.now()
        lock.withLock { _ in
            record.endNs = now
            record.bytesReceived = downstream.stats.bytesRead.load(ordering: .relaxed)
            record.bytesSent = downstream.stats.bytesWritten.load(ordering: .relaxed)
            record.setUpstream(host: host, cluster: cluster)
            log.write(record, executorIndex: Self.callingExecutorIndex(downstream))
        }
    }

    /// A connection no route matched (closed at once): a line with `NR`.
    static func noRoute(_ log: ListenerAccessLog, connection: Connection) {
        let s = TCPSessionLog(log, connection: connection)
        s.flag(.noRouteFound)
        let now = MonotonicClock.now()
        s.lock.withLock { _ in
            s.record.endNs = now
            log.write(s.record, executorIndex: callingExecutorIndex(connection))
        }
    }

    private static func callingExecutorIndex(_ c: Connection) -> Int {
        if let ex = c.executor, ex.inExecutor { return ex.executorIndex }
        return -1
    }
}
