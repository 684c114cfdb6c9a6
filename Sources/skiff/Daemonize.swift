import Glibc
import SkiffEngine

/// The daemon's end of the pipe to its launcher (`skiff start --daemonize`): the launcher waits in the foreground
/// and prints what comes through, so a daemon that cannot start says why on the operator's terminal.
///
/// Owned by the thread running `skiff start`.
final class LauncherPipe {
    private var fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Sends one error line; the launcher prints it and exits 1 once the pipe closes.
    func report(_ line: String) {
        guard fd >= 0 else { return }
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    /// The daemon serves: a NUL byte (the launcher exits 0), and the pipe closes.
    func started() {
        guard fd >= 0 else { return }
        var zero: UInt8 = 0
        _ = write(fd, &zero, 1)
        close(fd)
        fd = -1
    }
}

/// Classic double fork, with the launcher waiting for the daemon's word: returns, in the daemon, the pipe it reports
/// on (its error lines, or that it started); the launcher never returns: it copies the daemon's error lines to
/// stderr and exits 0 once the daemon serves, 1 when it could not start (a port in use, a pid file held).
///
/// Call before any thread exists (a fork copies only the calling thread).
func detach(signals: ProcessSignals) throws -> LauncherPipe {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { throw CLIError("pipe: \(String(cString: strerror(errno)))") }
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // no thread exists yet: nothing can exec between
    let first = fork()
    if first < 0 { throw CLIError("fork: \(String(cString: strerror(errno)))") }
    if first > 0 {
        // The launcher stays interruptible while it waits (the signals were blocked for the daemon's sake).
        signals.unblockInThisThread()
        close(ends[1])
        var status: Int32 = 0
        waitpid(first, &status, 0)
        exit(launcherVerdict(readEnd: ends[0]))
    }
    close(ends[0])
    setsid()
    let second = fork()
    if second < 0 { exit(1) }
    if second > 0 { exit(0) }
    let null = open("/dev/null", O_RDWR)
    if null >= 0 {
        dup2(null, 0)
        dup2(null, 1)
        dup2(null, 2)
        if null > 2 { close(null) }
    }
    umask(0o022)
    return LauncherPipe(fd: ends[1])
}

/// The launcher's side: copies the daemon's error lines to stderr until "started" (0) or the pipe closes (1).
/// Gives up after two minutes without a verdict (2).
private func launcherVerdict(readEnd fd: Int32) -> Int32 {
    var text: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    let deadline = time(nil) + 120
    while time(nil) < deadline {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 1000) <= 0 { continue }
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 {
            let said = String(decoding: text, as: UTF8.self)
            if !said.isEmpty { _ = said.withCString { write(2, $0, strlen($0)) } }
            if said.isEmpty { printError("error: the daemon exited while starting (see its log file)") }
            return 1
        }
        text += buf[0..<n]
        if let zero = text.firstIndex(of: 0) {
            if zero > 0 { _ = text[..<zero].withUnsafeBytes { write(2, $0.baseAddress, $0.count) } }
            return 0
        }
    }
    printError("error: no word from the daemon after 120 s (still starting? see its log file)")
    return 2
}
