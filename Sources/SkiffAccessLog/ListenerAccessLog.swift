import SkiffConfig
import SkiffNet

/// A listener's access logs as running: each `access_logs[]` entry's compiled format and the file it writes to, and
/// the capture plan the proxies follow while a request is in memory. Built by `AccessLogService` from the config;
/// a reload builds a new one and swaps it in (requests under way finish with the one they started with).
///
/// Immutable and shared by every executor; `write` runs on the request's executor.
public final class ListenerAccessLog: @unchecked Sendable {  // immutable; `records` is executor-local
    /// Each entry's file and compiled format, owned by the arrays below and read without reference counting.
    private let entryFiles: UnsafeMutablePointer<Unmanaged<AccessLogFile>>
    private let entryFormats: UnsafeMutablePointer<Unmanaged<CompiledAccessLogFormat>>
    private let entryCount: Int
    private let files: [AccessLogFile]
    private let formats: [CompiledAccessLogFormat]

    public let plan: AccessLogCapturePlan
    /// Whether the formats print request / response headers (the request path checks these before the plan).
    public let capturesRequestHeaders: Bool
    public let capturesResponseHeaders: Bool
    /// As configured, the digest entry of a traced listener last.
    public let configs: [AccessLogConfig]
    /// The listener's span kind when it traces (docs/tracing.md): the proxies then decide each request's trace
    /// context into its record; nil = no tracing.
    public let tracing: TraceSpanKind?
    /// The files written, in entry order (what `/metrics` and reports name).
    public var paths: [String] { files.map(\.path) }
    /// Spare records of streams that end out of order (RPC), per executor.
    private let records = ExecutorLocal<AccessLogRecordPool>()

    init(configs: [AccessLogConfig], files: [AccessLogFile], tracing: TraceSpanKind? = nil) {
        self.configs = configs
        self.tracing = tracing
        let plan = AccessLogCapturePlan(layouts: configs.map(\.layout))
        self.plan = plan
        capturesRequestHeaders = !plan.requestHeaders.isEmpty
        capturesResponseHeaders = !plan.responseHeaders.isEmpty
        self.files = files
        formats = configs.map { CompiledAccessLogFormat($0.layout, plan: plan) }
        entryCount = files.count
        entryFiles = .allocate(capacity: max(1, files.count))
        entryFiles.initialize(from: files.map { Unmanaged.passUnretained($0) }, count: files.count)
        entryFormats = .allocate(capacity: max(1, formats.count))
        entryFormats.initialize(from: formats.map { Unmanaged.passUnretained($0) }, count: formats.count)
    }

    deinit {
        entryFiles.deallocate()
        entryFormats.deallocate()
    }

    /// A record sized for this log's captures.
    public func makeRecord() -> AccessLogRecord { AccessLogRecord(slots: plan.slotCount) }

    /// A record from `executor`'s spares (made when there is none), owned by this log until `finish`. For requests
    /// that end out of order (RPC streams). Call on `executor`.
    @inline(__always)
    public func takeRecord(on executor: any EventExecutor) -> AccessLogRecord {
        let r = records[executor]?.take() ?? makeRecord()
        r.owner = self
        return r
    }

    /// Writes the line of a record `takeRecord` gave and takes it back. Call on `executor`.
    public static func finish(_ r: AccessLogRecord, on executor: any EventExecutor) {
        guard let log = r.owner else { return }
        log.write(r, executorIndex: executor.executorIndex)
        giveBack(r, on: executor)
    }

    /// Takes back a record `takeRecord` gave, without a line (a connection's record when it closes). Call on
    /// `executor`.
    public static func giveBack(_ r: AccessLogRecord, on executor: any EventExecutor) {
        guard let log = r.owner else { return }
        r.endTrace()
        r.owner = nil
        let pool: AccessLogRecordPool
        if let p = log.records[executor] {
            pool = p
        } else {
            pool = AccessLogRecordPool()
            log.records[executor] = pool
        }
        pool.give(r)
    }

    /// Writes `r`'s line to every entry's file through the calling executor's lanes. `executorIndex` is the
    /// calling executor's (`EventExecutor.executorIndex`); -1 for a thread that is no executor (rwloop's
    /// tcp_proxy threads), which goes through each file's shared lane and its lock.
    public func write(_ r: AccessLogRecord, executorIndex: Int) {
        defer { r.endTrace() }
        guard executorIndex >= 0 else { return writeShared(r) }
        if entryCount == 1 {
            // The usual listener: one entry, no loop.
            let lane = entryFiles[0]._withUnsafeGuaranteedRef { $0.lane(executorIndex: executorIndex) }
            let format = entryFormats[0]
            return lane._withUnsafeGuaranteedRef { $0.append(format, r) }
        }
        for i in 0..<entryCount {
            let lane = entryFiles[i]._withUnsafeGuaranteedRef { $0.lane(executorIndex: executorIndex) }
            let format = entryFormats[i]
            lane._withUnsafeGuaranteedRef { $0.append(format, r) }
        }
    }

    private func writeShared(_ r: AccessLogRecord) {
        for i in 0..<entryCount {
            entryFiles[i]._withUnsafeGuaranteedRef { file in
                entryFormats[i]._withUnsafeGuaranteedRef { file.writeShared($0, r) }
            }
        }
    }
}

/// Spare records of one executor: a stack that grows to the most streams that were ever logging at once.
/// Executor-confined.
final class AccessLogRecordPool {
    private var spare: [AccessLogRecord] = []

    init() { spare.reserveCapacity(64) }

    @inline(__always)
    func take() -> AccessLogRecord? {
        guard let r = spare.popLast() else { return nil }
        r.reset()
        return r
    }

    @inline(__always)
    func give(_ r: AccessLogRecord) {
        if spare.count < 4096 { spare.append(r) }
    }
}
