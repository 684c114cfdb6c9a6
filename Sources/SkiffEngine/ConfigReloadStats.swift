import SkiffSystem
import Synchronization

/// Configs applied or refused since start, for `/metrics` (`skiff_config_reloads_total`,
/// `skiff_config_last_reload_success_timestamp_seconds`, `skiff_config_last_reload_successful`): by origin — the
/// file (SIGHUP, `skiff reload`: every re-read of the config file) or the control plane (`xds`: each
/// assembled snapshot the engine applies) — and result. The config the process started with counts as the first
/// success (its time is the start), as Prometheus counts its own initial load.
///
/// An xDS response refused before it reaches the engine (translation, a NACK) is not a reload: it is counted in
/// `skiff_xds_nacks_total`. Relaxed atomics; any thread.
public final class ConfigReloadStats: Sendable {
    public enum Origin: String, Sendable, CaseIterable {
        case file, xds
    }

    public enum Outcome: String, Sendable, CaseIterable {
        case applied, refused
    }

    private let fileApplied = Atomic<UInt64>(0)
    private let fileRefused = Atomic<UInt64>(0)
    private let xdsApplied = Atomic<UInt64>(0)
    private let xdsRefused = Atomic<UInt64>(0)
    private let lastSuccessMs: Atomic<UInt64>
    private let lastSucceeded = Atomic<Bool>(true)

    /// - Parameter loadedAtMs: when the starting config was loaded (wall-clock ms).
    public init(loadedAtMs: UInt64 = WallClock.millis()) {
        lastSuccessMs = Atomic(loadedAtMs)
    }

    public func record(_ origin: Origin, _ outcome: Outcome) {
        switch (origin, outcome) {
        case (.file, .applied): fileApplied.wrappingAdd(1, ordering: .relaxed)
        case (.file, .refused): fileRefused.wrappingAdd(1, ordering: .relaxed)
        case (.xds, .applied): xdsApplied.wrappingAdd(1, ordering: .relaxed)
        case (.xds, .refused): xdsRefused.wrappingAdd(1, ordering: .relaxed)
        }
        if outcome == .applied { lastSuccessMs.store(WallClock.millis(), ordering: .relaxed) }
        lastSucceeded.store(outcome == .applied, ordering: .relaxed)
    }

    public func count(_ origin: Origin, _ outcome: Outcome) -> UInt64 {
        switch (origin, outcome) {
        case (.file, .applied): return fileApplied.load(ordering: .relaxed)
        case (.file, .refused): return fileRefused.load(ordering: .relaxed)
        case (.xds, .applied): return xdsApplied.load(ordering: .relaxed)
        case (.xds, .refused): return xdsRefused.load(ordering: .relaxed)
        }
    }

    /// When a config was last applied (the starting one included), wall-clock ms.
    public var lastSuccessWallMs: UInt64 { lastSuccessMs.load(ordering: .relaxed) }

    /// False while the latest attempt was refused (the previous config keeps running).
    public var lastAttemptSucceeded: Bool { lastSucceeded.load(ordering: .relaxed) }
}
