import Glibc
import Synchronization

/// Runs `body(index)` on `count` fresh pthreads and joins them all.
///
/// Stress tests use real threads, not tasks: the rings' producers and readers are plain threads in the engine, and
/// `wait(after:timeoutNs:)` blocks, which tasks on the cooperative pool must not do.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Start {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        let start = Unmanaged.passRetained(Start { body(index) }).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, start)
        precondition(result == 0, "pthread_create failed: \(result)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// Problems found on worker threads, checked with `#expect` once they are joined.
final class Findings: Sendable {
    private let problems = Mutex<[String]>([])

    func report(_ problem: String) {
        problems.withLock { if $0.count < 20 { $0.append(problem) } }
    }

    var all: [String] { problems.withLock { $0 } }
}

/// Monotonic clock in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// FNV-1a over bytes, for frame checksums.
func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var hash: UInt32 = 0x811C_9DC5
    for byte in bytes {
        hash ^= UInt32(byte)
        hash = hash &* 0x0100_0193
    }
    return hash
}
