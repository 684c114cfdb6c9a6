import SkiffNet
import Testing

@testable import SkiffUpstream

/// Runs tasks at once on the caller's thread: enough for state that only checks which executor it belongs to.
private final class InlineExecutor: EventExecutor, @unchecked Sendable {
    var executorIndex: Int { 1023 }
    var inExecutor: Bool { true }
    func execute(_ task: @escaping @Sendable () -> Void) { task() }
    func arm(_ timer: PollerTimer, afterNs ns: UInt64) {}
}

private final class PoolA: DrainablePool {
    var drained = 0
    func drain() { drained += 1 }
}

private final class PoolB: DrainablePool {
    var drained = 0
    func drain() { drained += 1 }
}

private final class Generic<T>: DrainablePool {
    func drain() {}
}

@Suite struct HostPoolsTests {
    @Test func aTypeAlwaysGetsTheSameSlotAndOtherTypesOthers() {
        #expect(PoolSlot<PoolA>().index == PoolSlot<PoolA>().index)
        #expect(PoolSlot<PoolA>().index != PoolSlot<PoolB>().index)
        // One generic pool type per codec: Bolt's and Dubbo's connections must not share a slot.
        #expect(PoolSlot<Generic<Int>>().index != PoolSlot<Generic<String>>().index)
    }

    @Test func poolsOfDifferentTypesLiveSideBySide() {
        let state = HostExecutorState(executor: InlineExecutor())
        let a = PoolA()
        let b = PoolB()
        #expect(state[slot: PoolSlot<PoolA>()] == nil)
        state[slot: PoolSlot<PoolB>()] = b
        state[slot: PoolSlot<PoolA>()] = a
        #expect(state[slot: PoolSlot<PoolA>()] === a)
        #expect(state[slot: PoolSlot<PoolB>()] === b)
        state[slot: PoolSlot<PoolB>()] = nil
        #expect(state[slot: PoolSlot<PoolB>()] == nil)
        #expect(state[slot: PoolSlot<PoolA>()] === a)
    }

    @Test func drainReachesEveryPool() {
        let state = HostExecutorState(executor: InlineExecutor())
        let a = PoolA()
        let b = PoolB()
        state[slot: PoolSlot<PoolA>()] = a
        state[slot: PoolSlot<PoolB>()] = b
        state.drainAll()
        #expect(a.drained == 1 && b.drained == 1)
    }
}
