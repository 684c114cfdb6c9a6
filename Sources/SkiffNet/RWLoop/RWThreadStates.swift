import Synchronization

/// What an rwloop connection's two threads are doing, for the Threads view: each thread stores its own id once and
/// its activity as it changes (relaxed stores; rwloop only, never on a poller). The publisher reads them.
public final class RWThreadStates: Sendable {
    /// One thread's activity.
    public enum Activity: UInt8, Sendable {
        /// Reader: blocked in read() (or poll() for the idle deadline). Writer: writing (writev).
        case blockedInRead = 1, writing
        /// Reader: handing what it read to the handler.
        case handling
        /// Reader: reading is paused (back-pressure) or the peer finished sending. Writer: waiting for data.
        case idle
        /// The thread has not started or has left.
        case gone

        public var description: String {
            switch self {
            case .blockedInRead: return "blocked in read"
            case .writing: return "writing"
            case .handling: return "handling"
            case .idle: return "idle"
            case .gone: return "gone"
            }
        }
    }

    public let readerTid = Atomic<Int32>(0)
    public let writerTid = Atomic<Int32>(0)
    private let reader = Atomic<UInt8>(Activity.gone.rawValue)
    private let writer = Atomic<UInt8>(Activity.gone.rawValue)

    init() {}

    @inline(__always) func reader(_ a: Activity) { reader.store(a.rawValue, ordering: .relaxed) }
    @inline(__always) func writer(_ a: Activity) { writer.store(a.rawValue, ordering: .relaxed) }

    public var readerActivity: Activity { Activity(rawValue: reader.load(ordering: .relaxed)) ?? .gone }
    public var writerActivity: Activity { Activity(rawValue: writer.load(ordering: .relaxed)) ?? .gone }
}
