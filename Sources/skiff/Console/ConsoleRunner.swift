import CNCurses
import Glibc
import SkiffConsole
import SkiffEngine
import SkiffTelemetry
import Synchronization

/// Runs the console on this terminal: frames from `source` into the model, keys into the state machine, the view
/// rendered into a cell grid and blitted with ncursesw. Falls back to plain lines on TERM=dumb or without a tty.
/// The terminal is restored on every way out (quit, `shouldStop` turning true, an error). The caller decides what
/// stops it (SIGINT/SIGTERM read by a signal thread, a server that is stopping) and says so through `shouldStop`,
/// asked between key reads: no signal handler runs here.
///
/// Threads: everything here, every curses call included, runs on the calling thread (ncurses is not reentrant).
func runConsole(
    source: any FrameSource, readOnly: Bool, inProcess: Bool, windowMs: UInt64 = FrameWindow.defaultMs,
    shouldStop: () -> Bool
) {
    let term = getenv("TERM").map { String(cString: $0) } ?? ""
    if isatty(1) == 0 || isatty(0) == 0 || term == "dumb" || term.isEmpty {
        runPlain(source: source, shouldStop: shouldStop)
        return
    }
    let screen = Terminal(color: getenv("NO_COLOR") == nil)
    defer { screen.restore() }
    let model = ConsoleModel(windowMs: windowMs)
    var state = ConsoleState(readOnly: readOnly, refreshMs: 500)
    source.askInterval(ms: state.refreshMs)
    var arrivals = FrameArrivals()
    var lastRender: UInt64 = 0
    func measure() {
        let (w, h) = screen.size
        state.screenWidth = w
        state.screenHeight = h
    }
    measure()
    var dirty = true
    while true {
        var fresh = false
        var pressed = false
        for v in source.poll() {
            if case .frame = v { arrivals.arrived(atMs: monotonicMs()) }
            model.ingest(line: v)
            fresh = true
        }
        state.arrivalMs = arrivals.intervalMs
        let link = state.link.next(problem: source.problem, nowMs: wallMs())
        if link != state.link {
            if state.link.isLost && !link.isLost { state.status = "reconnected" }
            if link.isLost != state.link.isLost { arrivals.reset() }
            state.link = link
            fresh = true
        }
        var key = screen.readKey(timeoutMs: 50)
        while let k = key {
            if case .resize = k { screen.resized() }
            measure()
            switch handle(k, state: &state, model: model) {
            case .quit:
                return
            case .setHostState(let cluster, let host, let s):
                state.status = source.setHostState(cluster: cluster, host: host, state: s)
            case .setHostMaintClosingConnections(let cluster, let host):
                state.status = source.setHostState(cluster: cluster, host: host, state: "maint", kill: true)
            case .setHostWeight(let cluster, let host, let weight):
                state.status = source.setHostWeight(cluster: cluster, host: host, weight: weight)
            case .refresh(let ms):
                source.askInterval(ms: ms)
                arrivals.reset()
            case .none:
                break
            }
            key = screen.readKey(timeoutMs: 0)
            pressed = true
        }
        // Drawn at once after a key, within 100 ms of new data, and at least once a second (ages, the clock).
        dirty = dirty || fresh
        source.watchRequests(state.view == .requests)
        let now = monotonicMs()
        if pressed || (dirty && now - lastRender >= 100) || now - lastRender >= 1000 {
            dirty = false
            measure()
            var grid = Grid(width: state.screenWidth, height: state.screenHeight)
            ConsoleRenderer.render(model: model, state: state, into: &grid)
            screen.blit(grid)
            lastRender = now
        }
        if shouldStop() { return }
    }
}

/// Wall clock, milliseconds since the epoch (the time a loss began, shown as HH:MM:SS).
func wallMs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
}

func monotonicMs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
}

/// Without a terminal: a line per frame, like `skiff ctl watch`.
private func runPlain(source: any FrameSource, shouldStop: () -> Bool) {
    let model = ConsoleModel()
    while !shouldStop() {
        for line in source.poll() {
            model.ingest(line: line)
            if case .frame = line {
                print(PlainText.watchLine(model: model))
                fflush(nil)
            }
        }
        if let p = source.problem { print(p) }
        usleep(100_000)
    }
}

/// Raised by SIGINT or SIGTERM for a console command (`skiff top`, `skiff demo`), so the console loop ends and the
/// terminal is restored.
///
/// Thread-safe: the signal thread raises it, the console's thread reads it.
final class SignalStop: Sendable {
    private let raised = Atomic<Bool>(false)
    private let signals: ProcessSignals

    /// Blocks SIGINT and SIGTERM and starts the thread that reads them: create it before any other thread exists.
    init() throws {
        signals = ProcessSignals([.interrupt, .terminate])
        try signals.start { [weak self] _ in self?.raise() }
    }

    var isRaised: Bool { raised.load(ordering: .relaxed) }

    private func raise() { raised.store(true, ordering: .relaxed) }
}

/// The ncursesw screen: blits grids, reads keys.
final class Terminal {
    let color: Bool

    init(color: Bool) {
        self.color = color
        if setlocale(LC_ALL, "") == nil || !(String(cString: nl_langinfo(nl_item(CODESET))).uppercased().contains("UTF")) {
            setlocale(LC_ALL, "C.UTF-8")
        }
        initscr()
        cbreak()
        noecho()
        keypad(cn_stdscr(), true)
        curs_set(0)
        if color && has_colors() {
            start_color()
            use_default_colors()
            init_pair(1, Int16(COLOR_GREEN), -1)  // ok
            init_pair(2, Int16(COLOR_YELLOW), -1)  // warn
            init_pair(3, Int16(COLOR_RED), -1)  // bad
            init_pair(4, Int16(COLOR_CYAN), -1)  // accent
            init_pair(5, Int16(COLOR_BLUE), -1)  // header
        }
    }

    var size: (Int, Int) { (Int(cn_cols()), Int(cn_lines())) }

    func resized() {
        endwin()
        refresh()
        clear()
    }

    func restore() {
        curs_set(1)
        endwin()
    }

    func readKey(timeoutMs: Int32) -> Key? {
        timeout(timeoutMs)
        var wch: wint_t = 0
        let r = get_wch(&wch)
        if r == cn_err() { return nil }
        let c = Int32(wch)
        if r == KEY_CODE_YES {
            switch c {
            case cn_key_up(): return .up
            case cn_key_down(): return .down
            case cn_key_ppage(): return .pageUp
            case cn_key_npage(): return .pageDown
            case cn_key_home(): return .home
            case cn_key_end(): return .end
            case cn_key_btab(): return .backTab
            case cn_key_enter(): return .enter
            case cn_key_backspace(): return .backspace
            case cn_key_resize(): return .resize
            default: return nil
            }
        }
        switch c {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 127, 8: return .backspace
        default:
            guard let s = Unicode.Scalar(UInt32(c)) else { return nil }
            return .char(Character(s))
        }
    }

    func blit(_ grid: Grid) {
        erase()
        for y in 0..<grid.height {
            var x = 0
            while x < grid.width {
                let first = grid[x: x, y: y]
                var run: [wchar_t] = []
                var x2 = x
                while x2 < grid.width {
                    let c = grid[x: x2, y: y]
                    if c.style != first.style || c.role != first.role { break }
                    run.append(wchar_t(bitPattern: c.char.unicodeScalars.first?.value ?? 32))
                    x2 += 1
                }
                run.append(0)
                _ = cn_attrset(attributes(first.style, first.role))
                _ = run.withUnsafeBufferPointer { cn_mvaddwstr(Int32(y), Int32(x), $0.baseAddress!) }
                x = x2
            }
        }
        _ = cn_attrset(0)
        refresh()
    }

    private func attributes(_ s: CellStyle, _ role: ColorRole) -> UInt32 {
        var a: UInt32 = 0
        if s.contains(.bold) { a |= cn_a_bold() }
        if s.contains(.reverse) { a |= cn_a_reverse() }
        if s.contains(.dim) { a |= cn_a_dim() }
        if s.contains(.underline) { a |= cn_a_underline() }
        guard color else { return a }
        switch role {
        case .ok: a |= cn_color_pair(1)
        case .warn: a |= cn_color_pair(2)
        case .bad: a |= cn_color_pair(3)
        case .accent: a |= cn_color_pair(4)
        case .header: a |= cn_color_pair(5) | cn_a_bold()
        case .dim: a |= cn_a_dim()
        default: break
        }
        return a
    }
}
