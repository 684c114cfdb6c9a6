import Glibc
import SkiffNet
import Synchronization

/// SIGUSR2: a binary upgrade this process starts itself — the successor (`SuccessorCommand`) is spawned as a child,
/// takes the listening sockets over the control socket like any `skiff start --upgrade`, and asks this process to
/// drain. Under systemd that keeps the successor inside the service (see `SystemdNotifier`). If the successor exits
/// before it took over (a bad config, a binary that does not start), this process says so and serves on.
///
/// Runs on the runtime thread; the watcher thread only waits for the child and logs.
extension SkiffServer {
    func startSuccessor() {
        guard let command = options.successor else {
            logger.warning("SIGUSR2: this command has no binary upgrade (use skiff start)")
            return
        }
        guard state == .running, lifecycle.withLock({ $0.handedOverTo }) == nil else {
            logger.warning("\("SIGUSR2: binary upgrade refused while \(state.rawValue)")")
            return
        }
        guard successorPID.compareExchange(expected: 0, desired: -1, ordering: .relaxed).exchanged else {
            logger.warning("\("SIGUSR2: a binary upgrade (pid \(successorPID.load(ordering: .relaxed))) is already under way")")
            return
        }
        let pid: pid_t
        do {
            pid = try command.spawn()
        } catch {
            successorPID.store(0, ordering: .relaxed)
            engine.errors.record("SIGUSR2: starting \(command.executable)", error)
            return
        }
        successorPID.store(pid, ordering: .relaxed)
        logger.notice("\("SIGUSR2: binary upgrade: started \(command.executable) as pid \(pid)")")
        do {
            try NetThread.start(name: "skiff-successor", stackSize: 64 * 1024) { [self] in
                watchSuccessor(pid)
            }
        } catch {
            engine.errors.record("SIGUSR2: watching pid \(pid)", error)
        }
    }

    /// Waits for the successor to exit. It normally outlives this process (which drains and exits once the successor
    /// serves); an exit before that is a failed upgrade.
    private func watchSuccessor(_ pid: pid_t) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        successorPID.store(0, ordering: .relaxed)
        let exit = (status & 0x7f) == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
        if isStopping {
            logger.info("\("binary upgrade: pid \(pid) \(exit)")")
        } else {
            logger.error("\("binary upgrade failed: pid \(pid) \(exit) before taking over; this process serves on")")
        }
    }
}
