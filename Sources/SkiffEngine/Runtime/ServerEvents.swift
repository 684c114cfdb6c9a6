import Glibc

/// What the server's runtime thread acts on, in arrival order.
enum ServerEvent: Sendable, Equatable {
    /// From the signal source.
    case signal(ServerSignal)
    /// From the control socket (`skiff stop [--now]`), the console, or a caller in-process. `by` names who asked;
    /// `replyGraceMs`: the asker's answer is still on its way out, so the control socket stays open that long.
    case stop(now: Bool, by: String, replyGraceMs: Int)
}

/// A blocking first-in first-out queue of `ServerEvent`s: any thread posts, the runtime thread waits.
///
/// Thread-safe. The pthread objects live at fixed heap addresses from `init` to `deinit`.
final class ServerEventQueue: @unchecked Sendable {  // `items` guarded by `mutex`
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var items: [ServerEvent] = []

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func post(_ event: ServerEvent) {
        pthread_mutex_lock(mutex)
        items.append(event)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// The next event; waits for one, at most `timeoutMs` when given (nil then on timeout).
    func next(timeoutMs: Int? = nil) -> ServerEvent? {
        var deadline = timespec()
        if let ms = timeoutMs {
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let total = Int(deadline.tv_nsec) + (ms % 1000) * 1_000_000
            deadline.tv_sec += ms / 1000 + total / 1_000_000_000
            deadline.tv_nsec = total % 1_000_000_000
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while items.isEmpty {
            if timeoutMs == nil {
                pthread_cond_wait(condition, mutex)
            } else if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT {
                break
            }
        }
        return items.isEmpty ? nil : items.removeFirst()
    }
}
