import Glibc

/// A cluster's `slow_start` (MOSN's shape): a host that is new to the cluster or comes back healthy takes a growing
/// share of new requests over `duration` instead of its full weight at once. Only the weighted balancers act on it
/// (`LB_WEIGHTED_ROUNDROBIN`, `LB_LEAST_REQUEST`, `LB_LEAST_CONNECTION`); the decoder refuses it on the others.
///
/// A ramping host's weight is multiplied by `max(minFraction, (max(1 s, t) / duration)^(1 / aggression))`, `t` the
/// time since it became eligible.
public struct SlowStartConfig: Sendable, Equatable {
    /// `slow_start_duration`: the length of the ramp (positive).
    public var duration: Duration
    /// `aggression` (> 0, default 1: linear); above 1 the ramp rises faster early, below 1 slower.
    public var aggression: Double
    /// `min_weight_percent` (a fraction in (0, 1], default 0.1): the least share of its weight a ramping host gets.
    public var minFraction: Double

    public init(duration: Duration, aggression: Double = 1, minFraction: Double = 0.1) {
        self.duration = duration
        self.aggression = aggression
        self.minFraction = minFraction
    }

    /// `duration` in nanoseconds.
    public var durationNs: UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// The share of its weight a host eligible since `since` (monotonic ns; 0 = not known: no ramp) gets at `now`.
    public func factor(eligibleSinceNs since: UInt64, now: UInt64) -> Double {
        guard since > 0 else { return 1 }
        return Self.factor(
            elapsedNs: now > since ? now - since : 0, durationNs: durationNs, aggression: aggression,
            minFraction: minFraction)
    }

    /// Balancers that act on it.
    public static let balancers: [LoadBalancerType] = [.weightedRoundRobin, .leastRequest, .leastConnection]

    /// The factor for a host eligible for `elapsedNs` of a ramp of `durationNs`: 1 when the ramp is over.
    public static func factor(elapsedNs: UInt64, durationNs: UInt64, aggression: Double, minFraction: Double) -> Double {
        guard durationNs > 0, elapsedNs < durationNs else { return 1 }
        var f = Double(max(elapsedNs, 1_000_000_000)) / Double(durationNs)
        if aggression != 1 { f = pow(f, 1 / aggression) }
        return min(1, max(f, minFraction))
    }
}
