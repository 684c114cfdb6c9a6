import SkiffHTTP2
import Testing

/// The stream table against a dictionary: inserts, lookups, removals and growth with removed markers in between.
@Suite struct HTTP2StreamTableTests {
    final class Box {
        let n: Int32
        init(_ n: Int32) { self.n = n }
    }

    @Test func behavesLikeADictionary() {
        let table = HTTP2StreamTable<Box>(capacity: 4)
        var model: [Int32: Int32] = [:]
        var rng = SystemRandomNumberGenerator()
        var next: Int32 = 1
        for step in 0..<20_000 {
            if Int.random(in: 0..<3, using: &rng) > 0 || model.isEmpty {
                table[next] = Box(next)
                model[next] = next
                next += 2
            } else {
                let id = model.keys.randomElement(using: &rng)!
                #expect(table.remove(id)?.n == id)
                model[id] = nil
            }
            if step % 997 == 0 {
                #expect(table.count == model.count)
                for (id, _) in model { #expect(table[id]?.n == id) }
                #expect(table[next] == nil)
                #expect(Set(table.all.map(\.n)) == Set(model.keys))
            }
        }
        table.removeAll()
        #expect(table.isEmpty && table[1] == nil)
    }
}
