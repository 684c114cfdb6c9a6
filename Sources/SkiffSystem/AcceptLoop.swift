import CSkiffLinux
import Glibc

/// The loop every accept thread runs: an rwloop listener's, the control socket's, the admin API's, the test and
/// demo servers'. (netpoll listeners accept on their pollers instead: `Listener.acceptBurst`.)
///
/// Waits `pollMs` at a time, so a stop is seen promptly even when nobody connects (and a socket another process also
/// accepts on never leaves it blocked in `accept`); accepts close-on-exec and non-blocking (`admit` switches the fd to
/// blocking if its thread wants that); hands each connection to `admit`. A failed accept is reported to `failed`
/// with its errno, except "nothing there after all" (EAGAIN); anything but a connection that went away before it was
/// taken (ECONNABORTED, EPROTO) backs off `backoffMs`, so a process out of descriptors or memory does not spin on a
/// socket that stays ready. Runs on the calling thread until `isStopping()`; the caller closes `listenFD` after.
public enum AcceptLoop {
    public static func run(
        _ listenFD: Int32, pollMs: Int32 = 200, backoffMs: UInt64 = 20, isStopping: () -> Bool,
        admit: (Int32) -> Void, failed: (Int32) -> Void = { _ in }
    ) {
        while !isStopping() {
            let revents = SocketIO.poll(listenFD, events: Int16(POLLIN), timeoutMs: pollMs)
            if isStopping() { return }
            if revents == 0 { continue }
            switch ioCall({ Int(cskiff_accept4(listenFD, nil, nil)) }) {
            case .done(let fd):
                admit(Int32(fd))
            case .wouldBlock:
                continue
            case .error(let e):
                failed(e)
                if e != ECONNABORTED && e != EPROTO { MonotonicClock.sleep(ns: backoffMs * 1_000_000) }
            }
        }
    }
}
