import Testing

@testable import SkiffHTTP2

/// libnghttp2's per-session allocator: freed blocks come back for the next allocation of their class, contents
/// survive a realloc across classes, and blocks past the largest class (and past what a class keeps) go to malloc.
@Suite struct HTTP2MemoryPoolTests {
    @Test func freedBlocksAreReused() throws {
        let pool = HTTP2MemoryPool()
        let a = try #require(pool.allocate(100))
        pool.release(a)
        let b = try #require(pool.allocate(120))  // the same 128-byte class
        #expect(a == b)
        let c = try #require(pool.allocate(20))
        #expect(c != b)
        pool.release(b)
        pool.release(c)
    }

    @Test func reallocKeepsTheBytes() throws {
        let pool = HTTP2MemoryPool()
        let a = try #require(pool.allocate(30))
        for i in 0..<30 { a.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) }
        #expect(pool.reallocate(a, 32) == a, "still fits its class")
        let grown = try #require(pool.reallocate(a, 20_000))  // past the largest class: malloc
        for i in 0..<30 { #expect(grown.load(fromByteOffset: i, as: UInt8.self) == UInt8(i)) }
        let again = try #require(pool.reallocate(grown, 40_000))
        for i in 0..<30 { #expect(again.load(fromByteOffset: i, as: UInt8.self) == UInt8(i)) }
        pool.release(again)
    }

    @Test func sizeClasses() {
        #expect(HTTP2MemoryPool.sizeClass(1) == 0)
        #expect(HTTP2MemoryPool.sizeClass(32) == 0)
        #expect(HTTP2MemoryPool.sizeClass(33) == 1)
        #expect(HTTP2MemoryPool.sizeClass(8192) == 8)
        #expect(HTTP2MemoryPool.sizeClass(8193) == nil)
    }
}
