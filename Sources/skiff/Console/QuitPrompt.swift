import Glibc

/// The answer to the `--tui` quit prompt.
enum QuitChoice: Equatable {
    case stop
    case keepRunning
    /// The server began stopping while the prompt waited (SIGTERM, SIGINT, `skiff stop`): nothing to ask any more.
    case alreadyStopping
}

/// After the in-process console quits: `s` stops the proxy, `k` keeps it running headless. One key, no Enter (the
/// terminal is put in non-canonical mode for the question and restored after); other keys are ignored; end of input
/// stops. `isStopping` is asked every 100 ms, so a stop by signal or `skiff stop` ends the question at once.
///
/// Runs on the console's thread, after the console has given the terminal back.
func askStopOrKeep(isStopping: () -> Bool) -> QuitChoice {
    promptWrite("console closed: (s)top skiff or (k)eep it running headless? [s/k] ", newline: false)
    let raw = RawKeys(fd: 0)
    defer { raw.restore() }
    while true {
        if isStopping() {
            promptWrite("(stopping)")
            return .alreadyStopping
        }
        var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, 100)
        if r < 0 && errno == EINTR { continue }
        guard r > 0 else { continue }
        var byte: UInt8 = 0
        let n = read(0, &byte, 1)
        if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
        if n <= 0 {
            promptWrite("(no terminal input: stopping)")
            return .stop
        }
        switch byte {
        case UInt8(ascii: "s"), UInt8(ascii: "S"):
            promptWrite("s: stopping")
            return .stop
        case UInt8(ascii: "k"), UInt8(ascii: "K"):
            promptWrite("k: running headless")
            return .keepRunning
        default:
            continue
        }
    }
}

/// Writes to stdout at once (the prompt must show before the key is read).
private func promptWrite(_ text: String, newline: Bool = true) {
    let bytes = Array((newline ? text + "\n" : text).utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress!, bytes.count) }
}

/// A terminal in non-canonical, no-echo mode until `restore`; does nothing when `fd` is not a terminal.
private final class RawKeys {
    let fd: Int32
    private var saved = termios()
    private var changed = false

    init(fd: Int32) {
        self.fd = fd
        guard isatty(fd) != 0, tcgetattr(fd, &saved) == 0 else { return }
        var t = saved
        t.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        changed = tcsetattr(fd, TCSANOW, &t) == 0
    }

    func restore() {
        if changed { _ = tcsetattr(fd, TCSANOW, &saved) }
        changed = false
    }
}
