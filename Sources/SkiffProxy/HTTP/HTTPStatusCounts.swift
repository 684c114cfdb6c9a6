import Synchronization

/// Responses counted by exact status code, for MOSN's per-code series (`downstream_request_200_total` ...,
/// `downstream_request_other_code`).
///
/// One relaxed atomic add per response into a fixed table: a slot per code 100...599 and one for anything else, so
/// the request path neither branches on a list of codes nor allocates. A value holding only the table's address
/// (reading it off its owner retains nothing); the owner, a listener's `HTTPListenerStats`, allocates the table with
/// `allocate()` and frees it with `deallocate()` when it goes. Shared by every executor that serves the listener; any
/// thread may read the counts.
///
/// `@unchecked Sendable`: the only state is the table's address, never changed; every counter is an `Atomic`.
public struct HTTPStatusCounts: @unchecked Sendable {
    /// Codes with a slot of their own; anything outside shares `otherSlot`.
    public static let codes = 100...599
    private static let otherSlot = codes.count
    private let slots: UnsafeMutablePointer<Atomic<UInt64>>

    private init(slots: UnsafeMutablePointer<Atomic<UInt64>>) { self.slots = slots }

    /// A zeroed table; its owner calls `deallocate()` exactly once, when nothing records or reads any more.
    public static func allocate() -> HTTPStatusCounts {
        let slots = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: codes.count + 1)
        for i in 0...codes.count { (slots + i).initialize(to: Atomic<UInt64>(0)) }
        return HTTPStatusCounts(slots: slots)
    }

    public func deallocate() {
        slots.deinitialize(count: Self.codes.count + 1)
        slots.deallocate()
    }

    /// Counts one response with `status`. Any thread; no lock, no allocation.
    @inline(__always)
    public func record(_ status: Int) {
        let offset = UInt(bitPattern: status &- Self.codes.lowerBound)
        let slot = offset < UInt(Self.codes.count) ? Int(offset) : Self.otherSlot
        slots[slot].wrappingAdd(1, ordering: .relaxed)
    }

    /// Responses with exactly `status` (0 for a code outside 100...599: those are only in `outsideRange`).
    public func count(of status: Int) -> UInt64 {
        guard Self.codes.contains(status) else { return 0 }
        return slots[status - Self.codes.lowerBound].load(ordering: .relaxed)
    }

    /// Responses with a status outside 100...599.
    public var outsideRange: UInt64 { slots[Self.otherSlot].load(ordering: .relaxed) }

    /// Every response counted.
    public var total: UInt64 {
        var sum: UInt64 = 0
        for i in 0...Self.codes.count { sum &+= slots[i].load(ordering: .relaxed) }
        return sum
    }

    /// Responses whose status is none of `codes` (MOSN's `other_code`): the total less those codes' counts.
    public func countExcluding(_ codes: [Int]) -> UInt64 {
        codes.reduce(total) { $0 &- count(of: $1) }
    }
}
