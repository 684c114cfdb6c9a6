/// How long to wait before the next attempt to reach the control plane: exponential from `initial` to `maximum`,
/// each wait drawn at random from its middle (±`jitter`) so a fleet that lost its control plane at once does not
/// come back at once. `reset` after a stream that got a response.
public struct XDSBackoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    /// The fraction a wait may stray from its nominal value, 0...1.
    public var jitter: Double
    /// Failures since the last good stream.
    public private(set) var failures = 0

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30), jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    public mutating func reset() { failures = 0 }

    /// The wait before the next attempt; `random` is a draw from 0..<1.
    public mutating func next(random: Double = Double.random(in: 0..<1)) -> Duration {
        let nominal = min(initial * (1 << min(failures, 20)), maximum)
        failures += 1
        let factor = 1 - jitter + 2 * jitter * random
        return nominal * factor
    }
}
