import Glibc

/// Why a pid file could not be claimed. Nothing was written.
public struct PidFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `--pid-file`: the file naming the running skiff's pid, for systemd, logrotate and `kill -HUP $(cat ...)`.
///
/// Rules: a file naming a live skiff (other than this process, or the process a binary upgrade takes over from)
/// refuses the claim; a stale one (no such process, or not a skiff) is replaced; the file is written whole
/// (written beside it, then renamed over); on exit it is removed only if it still names this process (after a binary
/// upgrade it names the new one).
///
/// A value; `claim` and `remove` touch the file system. Which pid is "this process" and what counts as a live skiff
/// are parameters, so the rules are tested without a second process (`PidFileTests`).
public struct PidFile: Sendable, Equatable {
    public let path: String
    /// The pid written.
    public let pid: Int32

    /// Writes `pid` to `path`, or throws why not.
    /// - Parameters:
    ///   - takingOverFrom: a binary upgrade's old process, which may hold the file (it leaves it to us).
    ///   - isLiveSkiff: whether a pid names a running skiff (by default: it exists and its command line says skiff).
    public static func claim(
        _ path: String, pid: Int32 = getpid(), takingOverFrom old: Int32? = nil,
        isLiveSkiff: (Int32) -> Bool = PidFile.isLiveSkiff
    ) throws(PidFileError) -> PidFile {
        if let holder = readPID(path), holder != pid, holder != old, isLiveSkiff(holder) {
            throw PidFileError("pid file \(path): skiff is already running as pid \(holder)")
        }
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "w") else {
            throw PidFileError("pid file \(path): cannot write: \(String(cString: strerror(errno)))")
        }
        let wrote = fputs("\(pid)\n", f) >= 0
        let closed = fclose(f) == 0
        guard wrote && closed else {
            unlink(tmp)
            throw PidFileError("pid file \(path): cannot write: \(String(cString: strerror(errno)))")
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw PidFileError("pid file \(path): \(String(cString: strerror(e)))")
        }
        return PidFile(path: path, pid: pid)
    }

    /// Removes the file if it still names `pid`; returns whether it did.
    @discardableResult
    public func remove() -> Bool {
        guard Self.readPID(path) == pid else { return false }
        return unlink(path) == 0
    }

    /// The pid a file names, or nil (no file, no number).
    public static func readPID(_ path: String) -> Int32? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 32)
        guard fgets(&buf, 32, f) != nil else { return nil }
        let line = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let pid = Int32(line.filter { $0.isNumber }), pid > 0 else { return nil }
        return pid
    }

    /// A process `pid` exists and its command line mentions skiff (a recycled pid of another program is not a
    /// reason to refuse).
    @Sendable public static func isLiveSkiff(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let f = fopen("/proc/\(pid)/cmdline", "r") else { return false }
        defer { fclose(f) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = fread(&bytes, 1, bytes.count, f)
        let text = String(decoding: bytes[..<n].map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return text.contains("skiff")
    }
}
