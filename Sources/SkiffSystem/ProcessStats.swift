import Glibc

/// The process's own figures as Prometheus client libraries report them (`process_*`): CPU time, memory, open file
/// descriptors and their limit, and the start time. Read from `/proc/self` on demand (a scrape; only the boot time is
/// read once): a value, any thread.
///
/// Same sources and units as the Go client's process collector: `/proc/self/stat` for CPU (user + system, clock
/// ticks), virtual size, resident pages and the start (ticks after boot, plus `btime` from `/proc/stat`); the entries
/// of `/proc/self/fd` (less the one used to list them); the soft `RLIMIT_NOFILE`.
public struct ProcessStats: Sendable, Equatable {
    /// User and system CPU time, seconds.
    public var cpuSeconds: Double
    public var residentMemoryBytes: UInt64
    public var virtualMemoryBytes: UInt64
    public var openFDs: Int
    /// The soft limit on open descriptors (`ulimit -n`).
    public var maxFDs: UInt64
    /// When the process started, seconds since the Unix epoch.
    public var startTimeSeconds: Double

    /// The current figures, or nil when `/proc` cannot be read (not Linux, or no procfs mounted).
    public static func current() -> ProcessStats? {
        guard let stat = readSmallFile("/proc/self/stat"), let fields = statFields(stat) else { return nil }
        let ticks = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        let page = UInt64(max(1, sysconf(Int32(_SC_PAGESIZE))))
        let bootTime = Self.bootTime
        var limit = rlimit()
        let maxFDs = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : 0
        return ProcessStats(
            cpuSeconds: Double(fields.utime + fields.stime) / ticks,
            residentMemoryBytes: fields.rssPages * page,
            virtualMemoryBytes: fields.vsize,
            openFDs: countOpenFDs(),
            maxFDs: maxFDs,
            startTimeSeconds: Double(bootTime) + Double(fields.startTicks) / ticks)
    }

    /// The fields of `/proc/self/stat` used here. The second field (the command, in parentheses) may hold spaces and
    /// parentheses, so fields are counted from the last `)`: the next one is field 3 (state).
    struct StatFields: Equatable {
        var utime: UInt64
        var stime: UInt64
        var startTicks: UInt64
        var vsize: UInt64
        var rssPages: UInt64
    }

    static func statFields(_ text: [UInt8]) -> StatFields? {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var numbers: [UInt64] = []
        numbers.reserveCapacity(24)
        var current: UInt64? = nil
        // Field 3 (state) is a letter: it reads as 0; what matters is the position.
        for b in text[(close + 1)...] {
            if b == UInt8(ascii: " ") || b == 0x0A {
                if let c = current { numbers.append(c) }
                current = nil
                if numbers.count >= 22 { break }
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                current = (current ?? 0) &* 10 &+ UInt64(b - UInt8(ascii: "0"))
            } else {
                current = current ?? 0
            }
        }
        if let c = current, numbers.count < 22 { numbers.append(c) }
        // numbers[0] is field 3; field N is numbers[N - 3].
        guard numbers.count >= 22 else { return nil }
        return StatFields(
            utime: numbers[14 - 3], stime: numbers[15 - 3], startTicks: numbers[22 - 3], vsize: numbers[23 - 3],
            rssPages: numbers[24 - 3])
    }

    /// The boot time, read once (`/proc/stat` holds a line per interrupt before it: tens of KiB on large machines).
    static let bootTime: UInt64 = readSmallFile("/proc/stat", limit: 4 << 20).flatMap(bootTimeSeconds) ?? 0

    /// `btime` of `/proc/stat`: the boot time, seconds since the epoch.
    static func bootTimeSeconds(_ text: [UInt8]) -> UInt64? {
        let key = Array("btime ".utf8)
        var i = 0
        while i + key.count <= text.count {
            let lineStart = i == 0 || text[i - 1] == 0x0A
            if lineStart && text[i..<(i + key.count)].elementsEqual(key) {
                var value: UInt64 = 0
                var j = i + key.count
                while j < text.count, text[j] >= UInt8(ascii: "0"), text[j] <= UInt8(ascii: "9") {
                    value = value &* 10 &+ UInt64(text[j] - UInt8(ascii: "0"))
                    j += 1
                }
                return value
            }
            i += 1
        }
        return nil
    }

    /// Entries of `/proc/self/fd`, less the descriptor that lists them.
    static func countOpenFDs() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let name = entry.pointee.d_name
            let dot = withUnsafeBytes(of: name) { $0[0] == UInt8(ascii: ".") }
            if !dot { n += 1 }
        }
        return max(0, n - 1)
    }

    /// A `/proc` file (its size reads as 0, so it is read until EOF), up to `limit` bytes.
    static func readSmallFile(_ path: String, limit: Int = 65536) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out.isEmpty ? nil : out
    }
}
